"""A summary whose Celery message never reached the broker, or whose worker died, is still
written: ending the session does not fail when the broker is away (Redis restarting), and the
periodic sweep queues again what nobody is working on. Found by fault injection
(docs/reliability.md: Redis down while an interview ends)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from core import rls
from interviews import services, tasks
from interviews.models import InterviewSession, SessionSummary
from interviews.services import summaries as summary_services
from tests.factories import SummaryFactory
from tests.support.responses import ok
from tests.support.summaries import end, good_answer, interview, summary_of

pytestmark = [pytest.mark.django_db, pytest.mark.summaries]


@pytest.fixture
def broker_away(monkeypatch):
    """Publishing a task fails as kombu fails once its retries against a Redis that refuses
    connections are spent."""

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.summarize_session, "delay", refuse)
    monkeypatch.setattr(tasks.summarize_session, "apply_async", refuse)


def summary_requests(callbacks) -> int:
    """Of the callbacks a transaction left to run on commit, those that queue a summary."""
    return sum("_enqueue" in callback.__qualname__ for callback in callbacks)


def age(summary, **fields):
    """Make the summary's row look as it would after a while (updated_at is auto_now)."""
    with rls.bypass_context():
        SessionSummary.objects.filter(pk=summary.pk).update(**fields)


def test_an_interview_that_ends_while_the_broker_is_away_still_ends_and_its_summary_waits(
    tenant_a, broker_away, django_capture_on_commit_callbacks
):
    session = interview(tenant_a)

    end(session, django_capture_on_commit_callbacks)  # raised the broker's error before

    with rls.tenant_context(tenant_a.pk):
        session.refresh_from_db()
    assert session.status == "completed"
    assert summary_of(session).status == "pending"


def test_the_sweep_queues_a_summary_whose_message_was_lost_and_it_is_written_once(
    tenant_a, upstream, monkeypatch, django_capture_on_commit_callbacks
):
    upstream.then(ok(good_answer))
    session = interview(tenant_a)
    with monkeypatch.context() as broker:
        broker.setattr(
            tasks.summarize_session,
            "apply_async",
            lambda *a, **k: (_ for _ in ()).throw(OperationalError()),
        )
        end(session, django_capture_on_commit_callbacks)
    summary = summary_of(session)
    assert tasks.requeue_stranded_summaries() == 0  # not yet: it may just be on its way
    age(summary, updated_at=timezone.now() - summary_services.summary_stranded_after() * 1.1)

    assert tasks.requeue_stranded_summaries() == 1

    assert summary_of(session).status == "ready"
    assert tasks.requeue_stranded_summaries() == 0
    assert len(upstream.requests) == 1


def test_a_summary_whose_worker_died_is_queued_once_its_claim_has_run_out(tenant_a):
    session = interview(tenant_a, status="completed")
    claimed = timezone.now() - summary_services.claim_ttl()
    summary = SummaryFactory(session=session, status="running", attempt_id=uuid.uuid4())
    age(summary, claimed_at=claimed + timedelta(seconds=30))
    assert services.summaries_stranded() == []

    age(summary, claimed_at=claimed - timedelta(seconds=1))

    assert services.summaries_stranded() == [(str(session.pk), str(tenant_a.pk))]
    summary = summary_of(session)
    assert (summary.status, summary.attempt_id, summary.claimed_at) == ("pending", None, None)


def test_while_no_worker_runs_the_sweep_queues_a_stranded_summary_once_not_on_every_pass(
    tenant_a,
):
    summary = SummaryFactory(session=interview(tenant_a, status="completed"), status="pending")
    age(summary, updated_at=timezone.now() - summary_services.summary_stranded_after() * 1.1)
    assert len(services.summaries_stranded()) == 1
    assert services.summaries_stranded() == []  # the next pass, a minute later
    later = timezone.now() + summary_services.summary_stranded_after() * 1.1
    assert len(services.summaries_stranded(now=later)) == 1  # its message lost again


def test_summaries_waiting_for_their_next_run_or_finished_are_left_alone(tenant_a):
    recent = SummaryFactory(session=interview(tenant_a, status="completed"), status="pending")
    for status in ("ready", "failed"):
        done = SummaryFactory(session=interview(tenant_a, status="completed"), status=status)
        age(done, updated_at=timezone.now() - timedelta(days=1))
    age(recent, updated_at=timezone.now() - summary_services.summary_stranded_after() / 2)

    assert services.summaries_stranded() == []


def test_an_answer_the_server_hears_after_the_end_still_gets_the_interview_its_summary(
    tenant_a, django_capture_on_commit_callbacks
):
    # Every earlier answer reached the server only through the browser's copy (its realtime
    # worker restarting); the last one's transcription finished after the interviewer closed.
    session = interview(tenant_a, answers=[])
    with rls.tenant_context(tenant_a.pk):
        services.transcript_append(
            session=session, speaker="candidate", text="Mine.", item_id="a1", source="client"
        )
    end(session, django_capture_on_commit_callbacks, run_tasks=False)
    assert summary_of(session) is None  # nothing the server heard, yet

    with django_capture_on_commit_callbacks() as queued, rls.tenant_context(tenant_a.pk):
        session.refresh_from_db()
        services.transcript_append(
            session=session, speaker="candidate", text="And the last answer.", item_id="a2"
        )

    assert summary_of(session).status == "pending"
    assert summary_requests(queued) == 1  # the worker is asked for it
    with django_capture_on_commit_callbacks() as again, rls.tenant_context(tenant_a.pk):
        services.transcript_append(session=session, speaker="candidate", text="P.S.", item_id="a3")
    assert summary_requests(again) == 0  # asked for once


def test_the_browsers_copy_after_the_end_asks_for_no_summary(
    tenant_a, django_capture_on_commit_callbacks
):
    session = interview(tenant_a, answers=[])
    end(session, django_capture_on_commit_callbacks, run_tasks=False)
    with rls.tenant_context(tenant_a.pk):
        session.refresh_from_db()
        services.transcript_append(
            session=session, speaker="candidate", text="Late.", item_id="a1", source="client"
        )
    assert summary_of(session) is None


def test_late_words_written_with_only_the_sessions_id_ask_for_the_summary_too(
    tenant_a, django_capture_on_commit_callbacks
):
    # The realtime worker appends without reading the session first (live.sideband.store):
    # the status that decides is the one read under the row lock, not the caller's copy.
    session = interview(tenant_a, answers=[])
    end(session, django_capture_on_commit_callbacks, run_tasks=False)
    only_the_id = InterviewSession(pk=session.pk, tenant_id=session.tenant_id)
    assert not only_the_id.is_terminal  # the caller's copy knows nothing of the end
    with django_capture_on_commit_callbacks() as queued, rls.tenant_context(tenant_a.pk):
        services.transcript_append(
            session=only_the_id, speaker="candidate", text="The last answer.", item_id="a1"
        )
    assert summary_of(session).status == "pending"
    assert summary_requests(queued) == 1
