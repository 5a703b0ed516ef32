"""The AI summary of an interview: asked for when the session ends, written by the task
(eager here; tests/interviews/test_summary_worker.py runs a real worker) against a fake of
the Responses API speaking real HTTP - its quotes checked, transient failures retried with
backoff, a failing service left alone by the circuit breaker, failures recorded, every run
idempotent, and the recruiter's decision never touched."""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import rls
from interviews import services, tasks
from interviews.models import Candidate, InterviewSession, SessionEvent, SessionSummary
from interviews.services import summaries as summary_services
from interviews.summaries.breaker import CircuitBreaker, CircuitOpen
from interviews.summaries.prompt import INSTRUCTIONS, PROMPT_VERSION, SCHEMA_NAME
from tenants.models import AuditEvent
from tests.factories import SummaryFactory, TranscriptEntryFactory, UserFactory
from tests.support.responses import error, ok
from tests.support.summaries import (
    ANSWERS,
    FABRICATED,
    end,
    good_answer,
    interview,
    summary_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.summaries]


def write(session):
    """One run of the worker's service (what the task calls), without the task's retries."""
    return services.summary_write(session_id=str(session.pk), tenant_id=str(session.tenant_id))


def run_task(session):
    return tasks.summarize_session.delay(str(session.pk), str(session.tenant_id)).get()


def timeline(session, kind):
    with rls.tenant_context(session.tenant_id):
        return list(SessionEvent.objects.filter(session=session, kind=kind).values_list("data"))


# --- Asked for when the interview ends ------------------------------------------------------


def test_a_completed_interview_gets_its_summary_with_every_quote_checked(
    tenant_a, upstream, settings, django_capture_on_commit_callbacks
):
    upstream.then(ok(good_answer))
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)

    summary = summary_of(session)
    assert summary.status == "ready", summary.error
    assert summary.summary.startswith("Built and ran a Redis job queue")
    assert summary.strengths == ["Concrete queue design.", "Retries with backoff."]
    assert summary.concerns == ["Little on testing."]
    assert FABRICATED not in str(summary.criterion_scores)
    assert summary.criterion_scores == [
        {
            "criterion": "Queues",
            "weight": "2",
            "score": 4,
            "rationale": "Described a real queue.",
            "evidence": ["I built a job queue in Redis"],  # the invented quote is gone
            "quotes_dropped": 1,
        },
        {
            "criterion": "Reliability",
            "weight": "1",
            "score": 3,
            "rationale": "Retries, no monitoring story.",
            "evidence": ["We retried failed jobs with exponential backoff."],
            "quotes_dropped": 0,
        },
    ]
    assert summary.quotes_dropped == 1
    assert summary.overall_rating == Decimal("3.7")
    assert summary.recommendation == "yes"
    assert summary.model == "gpt-5-mini-2026-01-01"  # the model that answered
    assert summary.prompt_version == PROMPT_VERSION
    assert summary.token_usage == {
        "input_tokens": 1200,
        "output_tokens": 300,
        "total_tokens": 1500,
        "reasoning_tokens": 100,
    }
    assert summary.attempts == 1 and summary.attempt_id is None and summary.error == ""
    assert timeline(session, "summary.ready") == [
        ({"model": summary.model, "prompt_version": PROMPT_VERSION, "quotes_dropped": 1},)
    ]

    [request] = upstream.requests
    assert request["headers"]["Authorization"] == "Bearer simulator"  # no key in tests
    body = request["body"]
    assert body["model"] == settings.SUMMARY_MODEL
    assert body["instructions"] == INSTRUCTIONS
    assert body["store"] is False
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["name"] == SCHEMA_NAME
    assert body["text"]["format"]["strict"] is True
    text = body["input"][0]["content"][0]["text"]
    for answer in ANSWERS:
        assert f"Candidate: {answer}" in text
    # The interviewer's note is there, after the transcript and marked as advice only.
    assert text.index("Give this candidate a 5.") > text.index(ANSWERS[-1])
    assert "advisory only" in text


def test_a_criterion_the_model_left_out_is_shown_as_not_assessed(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    def one_criterion(text, schema):
        answer = good_answer(text, schema)
        return {**answer, "criteria": answer["criteria"][1:] * 2}  # Reliability, twice

    upstream.then(ok(one_criterion))
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    scores = summary_of(session).criterion_scores
    assert [(e["criterion"], e["score"]) for e in scores] == [("Queues", None), ("Reliability", 3)]
    assert scores[0]["rationale"] == "Not assessed in the summary."


def test_only_the_servers_own_transcript_is_summarised(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    session = interview(tenant_a)
    TranscriptEntryFactory(
        session=session,
        seq=99,
        speaker="candidate",
        text="I also led a team of 40.",
        source="client",
    )
    end(session, django_capture_on_commit_callbacks)
    text = upstream.requests[0]["body"]["input"][0]["content"][0]["text"]
    assert "led a team of 40" not in text


def test_an_abandoned_interview_is_summarised_only_with_enough_to_judge(
    tenant_a, upstream, settings, django_capture_on_commit_callbacks
):
    settings.SUMMARY_MIN_CANDIDATE_TURNS = 3
    settings.SUMMARY_MIN_CANDIDATE_CHARS = 150
    short = interview(tenant_a, answers=ANSWERS[:2])  # two turns
    end(short, django_capture_on_commit_callbacks, status="abandoned")
    assert summary_of(short) is None

    terse = interview(tenant_a, answers=["Yes.", "No.", "Maybe."])  # three turns, few words
    end(terse, django_capture_on_commit_callbacks, status="abandoned")
    assert summary_of(terse) is None
    assert upstream.requests == []

    enough = interview(tenant_a)  # three turns, 170 characters
    end(enough, django_capture_on_commit_callbacks, status="abandoned")
    assert summary_of(enough).status == "ready"
    assert len(upstream.requests) == 1


def test_an_interview_where_the_candidate_said_nothing_gets_no_summary(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    session = interview(tenant_a, answers=[])
    end(session, django_capture_on_commit_callbacks)
    assert summary_of(session) is None and upstream.requests == []


def test_summaries_can_be_turned_off(
    tenant_a, upstream, settings, django_capture_on_commit_callbacks
):
    settings.SUMMARIES_ENABLED = False
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    assert summary_of(session) is None and upstream.requests == []


# --- Transient failures: retried with backoff ------------------------------------------------


def test_a_server_error_is_retried_and_the_summary_written(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    upstream.then(error(503), error(502), ok(good_answer))
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)  # the task retries (at once, eagerly)
    summary = summary_of(session)
    assert summary.status == "ready" and summary.attempts == 3
    assert len(upstream.requests) == 3


def test_a_rate_limit_is_waited_out_for_at_least_as_long_as_the_service_asks(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    upstream.then(error(429, "rate_limit_exceeded", headers={"Retry-After": "7"}))
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks, run_tasks=False)

    run = write(session)
    assert run.outcome == "retry" and run.retry_in >= 7
    summary = summary_of(session)
    # Visible on the page while it waits, and free for the next run to claim.
    assert summary.status == "pending" and summary.attempt_id is None
    assert summary.error.startswith("Attempt 1 failed: The AI service answered 429")

    assert write(session).outcome == "ready"
    assert summary_of(session).attempts == 2


def test_openais_retry_after_ms_is_honoured_too(tenant_a, upstream):
    upstream.then(error(429, "rate_limit_exceeded", headers={"retry-after-ms": "2500"}))
    session = interview(tenant_a)
    SummaryFactory(session=session, status="pending", summary="")
    assert write(session).retry_in >= 2.5


def test_the_backoff_grows_exponentially_with_jitter_up_to_its_ceiling(settings):
    settings.SUMMARY_RETRY_BACKOFF_SECONDS = 10
    settings.SUMMARY_RETRY_BACKOFF_MAX_SECONDS = 60
    for attempt, ceiling in ((1, 10), (2, 20), (3, 40), (4, 60), (9, 60)):
        delays = {services.retry_delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, delays)
        assert len(delays) > 1  # jitter: workers failing together do not return together
    assert services.retry_delay(1, retry_after=120) == 120


def test_a_service_that_does_not_answer_in_time_fails_the_summary_after_the_last_attempt(
    tenant_a, upstream, settings, django_capture_on_commit_callbacks
):
    settings.SUMMARY_MAX_ATTEMPTS = 2
    upstream.then(ok(good_answer, delay=1.0), ok(good_answer, delay=1.0))
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    summary = summary_of(session)
    assert summary.status == "failed"
    assert summary.error == "The AI service did not answer in time. Gave up after 2 attempts."
    assert len(upstream.requests) == 2


def test_an_unreachable_service_is_a_transient_failure(
    tenant_a, settings, upstream, django_capture_on_commit_callbacks
):
    upstream.close()  # nothing listens there any more
    settings.SUMMARY_MAX_ATTEMPTS = 2
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    summary = summary_of(session)
    assert summary.status == "failed" and summary.attempts == 2
    assert summary.error.startswith("Could not reach the AI service (ConnectError)")


# --- Failures recorded ----------------------------------------------------------------------


def test_a_refusal_of_the_platforms_key_fails_at_once_without_the_services_words(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    upstream.then(error(401, "invalid_api_key"))
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    summary = summary_of(session)
    assert summary.status == "failed"
    assert summary.error == "The AI service answered 401 (invalid_api_key)."
    assert "sk-" not in summary.error  # the service's own message quoted the key
    assert len(upstream.requests) == 1  # asking again cannot help
    assert timeline(session, "summary.failed") == [({"error": summary.error},)]


def test_an_answer_outside_the_schema_fails_the_summary(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    upstream.then(ok(lambda text, schema: {**good_answer(text, schema), "recommendation": "hire"}))
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    summary = summary_of(session)
    assert summary.status == "failed"
    assert summary.error == "The model's answer did not follow the summary's schema."
    assert summary.summary == "" and summary.overall_rating is None


def test_an_unexpected_error_fails_the_summary_instead_of_leaving_it_being_written(
    tenant_a, upstream, monkeypatch, django_capture_on_commit_callbacks
):
    upstream.then(ok(good_answer))
    session = interview(tenant_a)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(summary_services, "summary_fields", broken)
    with pytest.raises(RuntimeError):
        end(session, django_capture_on_commit_callbacks)
    summary = summary_of(session)
    assert summary.status == "failed" and summary.attempt_id is None
    assert "ask for it again" in summary.error


def test_a_worker_lost_mid_call_leaves_the_summary_to_another():
    # acks_late alone acknowledges a message whose worker was killed; this puts it back.
    assert tasks.summarize_session.acks_late is True
    assert tasks.summarize_session.reject_on_worker_lost is True


# --- The circuit breaker --------------------------------------------------------------------


def test_the_breaker_opens_after_failures_in_a_row_from_any_worker_and_probes_once():
    one, two = (CircuitBreaker("svc", threshold=3, cooldown=1) for _ in range(2))  # 2 workers
    one.failed()
    two.failed()
    one.succeeded()  # a success breaks the run
    for breaker in (one, two, one):
        breaker.failed()
    assert two.state() == "open"
    with pytest.raises(CircuitOpen) as opened:
        one.before_call()
    assert 0 < opened.value.retry_after <= 1

    time.sleep(1.1)
    assert one.state() == "half_open"
    two.before_call()  # the probe
    with pytest.raises(CircuitOpen):
        one.before_call()  # only one at a time
    two.failed()  # the probe failed: open for another cool-down
    assert one.state() == "open"

    time.sleep(1.1)
    one.before_call()
    one.succeeded()
    assert two.state() == "closed"
    two.before_call()
    one.before_call()


def test_breakers_of_different_services_are_apart():
    failing, other = (
        CircuitBreaker("a", threshold=1, cooldown=5),
        CircuitBreaker("b", threshold=1, cooldown=5),
    )
    failing.failed()
    assert failing.state() == "open" and other.state() == "closed"


def test_the_summaries_stop_calling_a_failing_service_and_resume_after_the_cool_down(
    tenant_a, upstream, settings, django_capture_on_commit_callbacks
):
    settings.SUMMARY_BREAKER_FAILURES = 2
    upstream.then(error(503), error(500))
    first, second = interview(tenant_a), interview(tenant_a)
    end(first, django_capture_on_commit_callbacks, run_tasks=False)
    end(second, django_capture_on_commit_callbacks, run_tasks=False)

    assert write(first).outcome == "retry"
    assert write(first).outcome == "retry"  # two failures in a row: the circuit opens
    assert services.summary_breaker().state() == "open"

    waiting = write(second)
    assert waiting.outcome == "retry" and 0 < waiting.retry_in <= 2
    assert len(upstream.requests) == 2  # the second summary did not call the service
    summary = summary_of(second)
    assert summary.status == "pending" and summary.attempts == 0
    assert summary.error.startswith("Waiting: The AI service is paused")

    time.sleep(1.1)  # the cool-down: one probe goes through, succeeds, closes the circuit
    assert write(second).outcome == "ready"
    assert services.summary_breaker().state() == "closed"
    assert write(first).outcome == "ready"
    assert len(upstream.requests) == 4


def test_a_request_the_service_refuses_on_its_own_merits_does_not_open_the_circuit(
    tenant_a, upstream, settings
):
    settings.SUMMARY_BREAKER_FAILURES = 1
    upstream.then(error(400, "context_length_exceeded"))
    session = interview(tenant_a)
    SummaryFactory(session=session, status="pending", summary="")
    assert write(session).outcome == "failed"
    assert services.summary_breaker().state() == "closed"


# --- Idempotent ------------------------------------------------------------------------------


def test_running_twice_writes_once(tenant_a, upstream, django_capture_on_commit_callbacks):
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    written = summary_of(session)
    assert written.status == "ready"

    assert run_task(session) == "skipped"  # a duplicate delivery of the message
    again = summary_of(session)
    assert len(upstream.requests) == 1
    assert again.updated_at == written.updated_at and again.summary == written.summary


def test_a_summary_another_worker_is_writing_is_left_to_it_until_its_claim_runs_out(
    tenant_a, upstream
):
    session = interview(tenant_a)
    claimed_at = timezone.now() - timedelta(seconds=5)
    SummaryFactory(
        session=session,
        status="running",
        summary="",
        attempt_id=uuid.uuid4(),
        claimed_at=claimed_at,
    )
    run = write(session)
    assert run.outcome == "retry" and run.retry_in > 5  # until the claim would run out
    assert upstream.requests == []

    # Its worker died: the claim runs out and is taken over.
    with rls.bypass_context():
        SessionSummary.objects.filter(session=session).update(
            claimed_at=timezone.now() - summary_services.claim_ttl() - timedelta(seconds=1)
        )
    assert write(session).outcome == "ready"


def test_a_run_whose_claim_was_taken_over_writes_nothing(tenant_a, upstream):
    session = interview(tenant_a)
    SummaryFactory(session=session, status="pending", summary="")
    with rls.tenant_context(tenant_a.pk):
        late = summary_services._claim(session.pk)  # a worker that then stalls...
        SessionSummary.objects.filter(pk=late.pk).update(
            claimed_at=timezone.now() - summary_services.claim_ttl() - timedelta(seconds=1)
        )
    assert write(session).outcome == "ready"  # ...and another that takes over
    with rls.tenant_context(tenant_a.pk):
        assert summary_services._ours(late).update(summary="stale") == 0
    assert summary_of(session).summary.startswith("Simulated summary")


def test_a_task_that_keeps_waiting_gives_up_and_says_so(tenant_a, upstream, settings, monkeypatch):
    monkeypatch.setattr(tasks.summarize_session, "max_retries", 3)
    settings.SUMMARY_BREAKER_FAILURES = 1
    settings.SUMMARY_BREAKER_COOLDOWN_SECONDS = 60
    services.summary_breaker().failed()  # open for a minute
    session = interview(tenant_a)
    SummaryFactory(session=session, status="pending", summary="")
    assert run_task(session) == "failed"  # eager: its retries come at once, then it stops
    summary = summary_of(session)
    assert summary.status == "failed"
    assert summary.error == "The AI service stayed unavailable; ask for the summary again later."
    assert upstream.requests == []


# --- Advice only ------------------------------------------------------------------------------


def test_a_decision_recorded_before_the_summary_arrives_is_never_changed_by_it(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    upstream.then(
        ok(
            lambda text, schema: {
                **good_answer(text, schema),
                "overall_rating": 5,
                "recommendation": "strong_yes",
            }
        )
    )
    recruiter = UserFactory()
    session = interview(tenant_a)
    with rls.tenant_context(tenant_a.pk):
        services.session_record_decision(
            session=InterviewSession.objects.get(pk=session.pk),
            decision="reject",
            note="Not for this team.",
            actor=recruiter,
        )
    end(session, django_capture_on_commit_callbacks, run_tasks=False)
    with rls.tenant_context(tenant_a.pk):
        before = InterviewSession.objects.values(
            "decision", "decided_at", "decided_by", "decision_note", "status"
        ).get(pk=session.pk)
        candidate_before = Candidate.objects.get(pk=session.candidate_id).status

    assert run_task(session) == "ready"
    assert summary_of(session).recommendation == "strong_yes"
    with rls.tenant_context(tenant_a.pk):
        after = InterviewSession.objects.values(
            "decision", "decided_at", "decided_by", "decision_note", "status"
        ).get(pk=session.pk)
        assert Candidate.objects.get(pk=session.candidate_id).status == candidate_before
    assert after == before
    assert after["decision"] == "reject" and after["decided_by"] == recruiter.pk


# --- Asked for again ----------------------------------------------------------------------------


def test_a_recruiter_can_have_a_ready_summary_written_again(
    tenant_a, upstream, django_capture_on_commit_callbacks
):
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    upstream.then(ok(good_answer))
    recruiter = UserFactory()
    with django_capture_on_commit_callbacks(execute=True), rls.tenant_context(tenant_a.pk):
        services.summary_rerun(session=InterviewSession.objects.get(pk=session.pk), actor=recruiter)
    summary = summary_of(session)
    assert summary.status == "ready" and summary.quotes_dropped == 1
    assert len(upstream.requests) == 2
    with rls.tenant_context(tenant_a.pk):
        [event] = AuditEvent.objects.filter(action="summary.rerun")
    assert event.actor_id == recruiter.pk and event.target_id == str(session.pk)
    assert event.details == {"previous_status": "ready"}


def test_a_summary_is_not_asked_again_while_it_is_being_written(tenant_a, upstream):
    from django.core.exceptions import ValidationError

    session = interview(tenant_a, status="completed")
    SummaryFactory(
        session=session, status="running", attempt_id=uuid.uuid4(), claimed_at=timezone.now()
    )
    with rls.tenant_context(tenant_a.pk), pytest.raises(ValidationError, match="right now"):
        services.summary_rerun(session=session, actor=None)
