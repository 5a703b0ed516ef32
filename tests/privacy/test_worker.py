"""The daily retention job through the real path: beat's task queued over Redis, fanned out to
one task per tenant, run by a Celery worker (a thread of this process) as the app role."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from core import rls
from interviews.models import InterviewSession
from privacy import archive, tasks
from tests.factories import TenantFactory
from tests.privacy.support import audit_events, interview, tenant_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery_worker_test]


def test_the_daily_job_applies_each_tenants_own_policy_on_a_worker():
    acme = TenantFactory(slug="acme", retention_days=30)
    globex = TenantFactory(slug="globex", retention_days=90)
    expired = interview(acme, ended_days_ago=45)
    kept = interview(acme, ended_days_ago=10)
    interview(globex, ended_days_ago=45)  # as old, but within Globex's 90 days
    theirs = tenant_rows(globex)
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        tasks.apply_retention_everywhere.delay()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            audit_events(acme, "retention.applied") and audit_events(globex, "retention.applied")
        ):
            time.sleep(0.1)

    with rls.tenant_context(acme.pk):
        assert list(InterviewSession.objects.values_list("pk", flat=True)) == [kept.pk]
    assert tenant_rows(globex) == theirs
    [name] = archive.candidate_archives(tenant_id=acme.pk, candidate_id=expired.candidate_id)
    assert archive.archive_read(name)["session"]["id"] == str(expired.pk)
    [acme_run] = audit_events(acme, "retention.applied")
    [globex_run] = audit_events(globex, "retention.applied")
    assert acme_run.details["counts"]["interviews.interviewsession"] == 1
    assert globex_run.details["counts"] == {} and globex_run.details["complete"] is True
