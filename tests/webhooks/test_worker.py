"""A webhook through the real path: emitted in a committed transaction, carried by Redis, sent
by a Celery worker (in a thread of this process) to a local receiver, signed."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from standardwebhooks.webhooks import Webhook

from config.celery import app
from core import rls
from interviews.models import Decision
from interviews.services import session_record_decision
from tests.factories import SessionFactory, WebhookEndpointFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker_test]


def test_a_worker_delivers_a_decision(webhook_receiver):
    session = SessionFactory(status="completed")
    endpoint = WebhookEndpointFactory(tenant=session.tenant, url=webhook_receiver.url)
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with rls.tenant_context(session.tenant_id):
            session_record_decision(session=session, decision=Decision.REJECT, actor=None)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not webhook_receiver.requests:
            time.sleep(0.05)
    [received] = webhook_receiver.requests
    payload = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert payload["data"]["decision"] == "reject"
