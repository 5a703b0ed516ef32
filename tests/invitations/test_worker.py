"""Invitation email through the real path: enqueued on commit, carried by Redis, run by a
Celery worker (in a thread of this process), written to the database as the app role."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from config.celery import app
from core import rls
from invitations.models import InterviewInvitation
from invitations.services import invitation_issue
from tests.factories import CandidateFactory, TemplateFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker_test]


def test_an_invitation_is_delivered_by_a_worker(tenant_a):
    candidate = CandidateFactory(tenant=tenant_a, email="worker@example.com")
    template = TemplateFactory(tenant=tenant_a)
    app.control.purge()
    mail.outbox.clear()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with rls.tenant_context(tenant_a.pk):
            invitation = invitation_issue(candidate=candidate, template=template, actor=None)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not mail.outbox:
            time.sleep(0.05)
    assert [m.to for m in mail.outbox] == [["worker@example.com"]]
    with rls.tenant_context(tenant_a.pk):
        invitation = InterviewInvitation.objects.get(pk=invitation.pk)
    assert invitation.status == "sent" and invitation.send_count == 1
