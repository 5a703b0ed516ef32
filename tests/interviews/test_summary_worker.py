"""The summary through the real path: the session ends, the task is enqueued on commit,
carried by Redis and run by a Celery worker (in a thread of this process) as the
application role - which waits out a rate limit as long as the service asked, then writes
the summary."""

import json
import time

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from core import rls
from interviews import services
from interviews.models import InterviewSession
from tests.support.responses import error, ok
from tests.support.summaries import good_answer, interview, summary_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.celery_worker_test,
    pytest.mark.summaries,
]


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
    return condition()


def test_a_worker_writes_the_summary_after_waiting_out_a_rate_limit(tenant_a, upstream):
    upstream.then(error(429, "rate_limit_exceeded", headers={"Retry-After": "1"}), ok(good_answer))
    session = interview(tenant_a)
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with rls.tenant_context(tenant_a.pk):
            services.session_end(
                session=InterviewSession.objects.get(pk=session.pk), reason="interview_complete"
            )
        assert wait_for(lambda: getattr(summary_of(session), "status", "") == "ready")
    summary = summary_of(session)
    assert summary.attempts == 2 and summary.quotes_dropped == 1
    assert len(upstream.requests) == 2
    assert upstream.times[1] - upstream.times[0] >= 1.0  # Retry-After: 1, honoured


def test_the_summary_starts_after_a_delay_so_the_last_answer_transcribed_late_is_in_it(
    tenant_a, upstream, settings
):
    settings.SUMMARY_START_DELAY_SECONDS = 4
    upstream.then(ok(good_answer))
    session = interview(tenant_a)
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with rls.tenant_context(tenant_a.pk):
            services.session_end(
                session=InterviewSession.objects.get(pk=session.pk), reason="interview_complete"
            )
        # The transcription of the candidate's last words lands a second after the end: long
        # enough for a worker that started at once to have read the transcript without them.
        time.sleep(1)
        with rls.tenant_context(tenant_a.pk):
            services.transcript_append(
                session=InterviewSession.objects.get(pk=session.pk),
                speaker="candidate",
                text="And one last thing: I would add idempotency keys.",
                item_id="late_1",
            )
        assert wait_for(lambda: getattr(summary_of(session), "status", "") == "ready")
    assert len(upstream.requests) == 1
    assert "idempotency keys" in json.dumps(upstream.requests[0])
