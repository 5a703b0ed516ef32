"""The AI's advisory summary of a session: asked for when the session ends
(``summary_on_session_end``, from ``session_transition``), asked again by a recruiter
(``summary_rerun``) and written by a worker (``summary_write``, the body of
``interviews.tasks.summarize_session``). See docs/summaries.md.

A summary is advice: nothing here reads or changes the recruiter's decision or the
candidate's status.

Runs are idempotent. A worker claims the summary row under a row lock, giving it a fresh
``attempt_id``; only the run holding that id may write the result, so a duplicate delivery, a
retry and a re-run never write over one another. A ready or failed summary is left alone
unless a recruiter asks for it again (which puts it back to pending). A claim older than the
call can take (``claim_ttl``) belongs to a worker that died, and is taken over.

Every change of state (asked for, being written, waiting, written, failed) is pushed to the
session's live view (``live_summary_changed``) in the transaction that makes it. Writers
lock the session's row before the summary's, as ``session_transition`` does.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import metrics, rls
from tenants.services import audit_record, system_bypass

from .. import selectors
from ..models import InterviewSession, SessionStatus, SessionSummary, SummaryStatus
from ..summaries.answer import summary_fields
from ..summaries.breaker import CircuitBreaker, CircuitOpen
from ..summaries.client import StructuredAnswer, SummaryServiceError, UnusableAnswer, get_client
from ..summaries.prompt import (
    INSTRUCTIONS,
    PROMPT_VERSION,
    SCHEMA_NAME,
    SummaryMaterial,
    summary_input,
    summary_schema,
)
from .live_updates import live_summary_changed
from .sessions import session_event_record
from .webhook_events import summary_ready_emit

logger = logging.getLogger(__name__)

#: The session statuses a summary is written for (a failed session is not judged).
SUMMARISED_STATUSES = frozenset({SessionStatus.COMPLETED, SessionStatus.ABANDONED})


_random = secrets.SystemRandom()


@dataclass(frozen=True)
class SummaryRun:
    """What one run of the worker came to: ``ready``, ``failed`` or ``skipped`` (nothing to
    do), or ``retry`` in ``retry_in`` seconds."""

    outcome: str
    retry_in: float | None = None


# --- Asking for a summary -------------------------------------------------------------------


def summary_is_due(session: InterviewSession, status: str) -> bool:
    """Whether a session that has just ended in ``status`` gets a summary written: a completed
    one whenever the candidate said anything, an abandoned one only with enough of the
    candidate's speech to judge (SUMMARY_MIN_CANDIDATE_TURNS and _CHARS)."""
    if not settings.SUMMARIES_ENABLED or status not in SUMMARISED_STATUSES:
        return False
    turns, chars = selectors.session_candidate_speech(session)
    if status == SessionStatus.COMPLETED:
        return turns > 0
    return (
        turns >= settings.SUMMARY_MIN_CANDIDATE_TURNS
        and chars >= settings.SUMMARY_MIN_CANDIDATE_CHARS
    )


def _enqueue(session: InterviewSession) -> None:
    session_id, tenant_id = str(session.pk), str(session.tenant_id)
    transaction.on_commit(lambda: _send(session_id, tenant_id))


def _send(session_id: str, tenant_id: str) -> None:
    """Queue the worker's run, to start SUMMARY_START_DELAY_SECONDS from now (the last
    answer's transcription can land just after the end). A broker that is away (Redis
    restarting) must not fail what asked for the summary once it has committed - a session
    that just ended, in the realtime worker or a request - so the summary stays pending, and
    the periodic sweep (``summaries_stranded``) queues it when the broker is back."""
    from kombu.exceptions import OperationalError

    from .. import tasks  # the tasks wrap these services; imported here to avoid a cycle

    try:
        tasks.summarize_session.apply_async(
            (session_id, tenant_id), countdown=settings.SUMMARY_START_DELAY_SECONDS or None
        )
    except OperationalError:
        logger.warning("summary not queued; the sweep will queue it", extra={"session": session_id})


def summary_on_session_end(*, session: InterviewSession, status: str) -> SessionSummary | None:
    """Ask for the summary of a session that has just ended, if it is due: a pending row now,
    the worker once the transaction commits. (Called by ``session_transition``.)"""
    if not summary_is_due(session, status):
        return None
    summary, created = SessionSummary.objects.get_or_create(
        session=session, defaults={"tenant_id": session.tenant_id}
    )
    if created:
        live_summary_changed(summary)
        _enqueue(session)
    return summary


def summary_on_late_speech(*, session: InterviewSession) -> SessionSummary | None:
    """The server heard the candidate after the session ended (a transcription finishing
    after the interviewer closed, as the provider's can): a session that ended without a
    summary, because none of the candidate's words had been heard by then, gets one now if it
    is due. (Called by ``transcript_append``.)"""
    if SessionSummary.objects.filter(session=session).exists():
        return None
    return summary_on_session_end(session=session, status=session.status)


def claim_ttl() -> timedelta:
    """How long a worker's claim on a summary holds: longer than its call to the service can
    take, so an older claim belongs to a worker that died."""
    return timedelta(
        seconds=settings.SUMMARY_TIMEOUT_SECONDS + settings.SUMMARY_CONNECT_TIMEOUT_SECONDS + 60
    )


def summary_stranded_after() -> timedelta:
    """How long a pending summary may be left alone before it is taken for stranded (its
    message lost): twice the longest a run waits before the next one (a retry's backoff, the
    circuit breaker's cool-down)."""
    longest = max(
        settings.SUMMARY_RETRY_BACKOFF_MAX_SECONDS, settings.SUMMARY_BREAKER_COOLDOWN_SECONDS + 10
    )
    return timedelta(seconds=2 * longest)


def _lock_session(session_id) -> None:
    # The session's row first, then the summary's: the order session_transition (and the
    # live view's update numbers) take them in, so two writers never wait on each other.
    InterviewSession.objects.select_for_update().filter(pk=session_id).values_list("pk").first()


def _being_written(summary: SessionSummary, now) -> bool:
    return (
        summary.status == SummaryStatus.RUNNING
        and summary.claimed_at is not None
        and now < summary.claimed_at + claim_ttl()
    )


@transaction.atomic
def summary_rerun(*, session: InterviewSession, actor) -> SessionSummary:
    """A recruiter asks for the session's summary (again): it goes back to pending and a
    worker writes it afresh. The summary so far stays visible until the new one is ready."""
    if not settings.SUMMARIES_ENABLED:
        raise ValidationError("AI summaries are turned off on this platform.")
    if session.status not in SUMMARISED_STATUSES:
        raise ValidationError("Only an interview that has ended can be summarised.")
    if not selectors.session_candidate_speech(session)[0]:
        raise ValidationError("The candidate said nothing a summary could be written from.")
    _lock_session(session.pk)
    summary, _ = SessionSummary.objects.select_for_update().get_or_create(
        session=session, defaults={"tenant_id": session.tenant_id}
    )
    if _being_written(summary, timezone.now()):
        raise ValidationError("The summary is being written right now; it will be ready soon.")
    previous = summary.status
    summary.status = SummaryStatus.PENDING
    summary.error = ""
    summary.attempts = 0
    summary.attempt_id = None
    summary.claimed_at = None
    summary.save(
        update_fields=["status", "error", "attempts", "attempt_id", "claimed_at", "updated_at"]
    )
    live_summary_changed(summary)
    audit_record(
        action="summary.rerun",
        tenant_id=session.tenant_id,
        actor=actor,
        target=session,
        details={"previous_status": previous},
    )
    _enqueue(session)
    return summary


def summaries_stranded(now=None) -> list[tuple[str, str]]:
    """(session id, tenant id) of the summaries nobody is working on although somebody should
    be: pending and untouched for longer than any run waits (their Celery message was lost:
    the broker was away when the session ended, or restarted without its queue), or claimed
    by a worker whose claim ran out (it died). The sweep queues them again; every run claims
    the row first, so a summary queued twice is still written once.

    Each one found is marked as queued again (pending, its dead claim let go, touched now), so
    that while no worker runs the next sweeps do not queue it again and again: it is taken
    for stranded once more only after as long again."""
    now = now or timezone.now()
    with system_bypass(reason="summaries stranded"), transaction.atomic():
        stranded = list(
            SessionSummary.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status=SummaryStatus.PENDING, updated_at__lt=now - summary_stranded_after())
                | Q(status=SummaryStatus.RUNNING, claimed_at__lt=now - claim_ttl())
            )
            .values_list("pk", "session_id", "tenant_id")
        )
        SessionSummary.objects.filter(pk__in=[pk for pk, _, _ in stranded]).update(
            status=SummaryStatus.PENDING, attempt_id=None, claimed_at=None, updated_at=now
        )
    return [(str(s), str(t)) for _, s, t in stranded]


# --- Writing it (the worker) ----------------------------------------------------------------


def summary_breaker() -> CircuitBreaker:
    """The breaker every worker shares for the configured service."""
    return CircuitBreaker(
        f"summaries:{settings.OPENAI_BASE_URL}",
        threshold=settings.SUMMARY_BREAKER_FAILURES,
        cooldown=settings.SUMMARY_BREAKER_COOLDOWN_SECONDS,
    )


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, ...): exponential
    backoff from SUMMARY_RETRY_BACKOFF_SECONDS up to SUMMARY_RETRY_BACKOFF_MAX_SECONDS, with
    jitter (half of it random) so that workers failing together do not come back together -
    and never sooner than the service asked (``retry_after``)."""
    ceiling = min(
        settings.SUMMARY_RETRY_BACKOFF_MAX_SECONDS,
        settings.SUMMARY_RETRY_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0),
    )
    delay = ceiling / 2 + _random.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


def _claim(session_id) -> SessionSummary | SummaryRun:
    """The summary row, claimed for this run; or what to do instead."""
    now = timezone.now()
    with transaction.atomic():
        _lock_session(session_id)
        summary = SessionSummary.objects.select_for_update().filter(session_id=session_id).first()
        if summary is None or summary.status in (SummaryStatus.READY, SummaryStatus.FAILED):
            return SummaryRun("skipped")
        if _being_written(summary, now):
            # Another worker has it. Look again once its claim would have run out: by then it
            # has written the summary, or died and the claim is ours to take.
            wait = (summary.claimed_at + claim_ttl() - now).total_seconds()
            return SummaryRun("retry", retry_in=max(wait, 1.0))
        summary.status = SummaryStatus.RUNNING
        summary.attempt_id = uuid.uuid4()
        summary.claimed_at = now
        summary.save(update_fields=["status", "attempt_id", "claimed_at", "updated_at"])
        live_summary_changed(summary)
        return summary


def _ours(summary: SessionSummary):
    """The row, if this run still holds it."""
    return SessionSummary.objects.filter(pk=summary.pk, attempt_id=summary.attempt_id)


def _finish_run(run: SessionSummary, /, **fields) -> bool:
    """Write ``fields`` (the summary's text among them, maybe) and end this run's claim, if it
    still holds it (False: another run took the summary over meanwhile; nothing is written)."""
    fields.update(attempt_id=None, claimed_at=None)
    with transaction.atomic():
        _lock_session(run.session_id)
        if not _ours(run).update(updated_at=timezone.now(), **fields):
            return False
        for name, value in fields.items():
            setattr(run, name, value)
        live_summary_changed(run)
    return True


def _release(summary: SessionSummary, note: str) -> None:
    """Give the claim back: pending again, ``note`` saying why, for the next run."""
    _finish_run(summary, status=SummaryStatus.PENDING, error=note[:1000])


def _observe_latency(ended_at, outcome: str) -> None:
    """The operators' measure of how long candidates' interviews wait for their summary."""
    if ended_at is not None:
        waited = (timezone.now() - ended_at).total_seconds()
        metrics.SUMMARY_LATENCY_SECONDS.labels(outcome).observe(max(waited, 0.0))


def _fail(summary: SessionSummary, session: InterviewSession, message: str) -> SummaryRun:
    """Record the failure on the summary (the message is ours: no secret, no service text)."""
    if not _finish_run(summary, status=SummaryStatus.FAILED, error=message[:1000]):
        return SummaryRun("skipped")  # a re-run took it over meanwhile
    _observe_latency(session.ended_at, "failed")
    session_event_record(session=session, kind="summary.failed", data={"error": message})
    logger.warning(
        "summary failed", extra={"session": str(session.pk), "attempts": summary.attempts}
    )
    return SummaryRun("failed")


def _ask(material: SummaryMaterial) -> StructuredAnswer:
    return get_client().structured(
        model=settings.SUMMARY_MODEL,
        instructions=INSTRUCTIONS,
        text=summary_input(material),
        schema_name=SCHEMA_NAME,
        schema=summary_schema(material.criteria),
        max_output_tokens=settings.SUMMARY_MAX_OUTPUT_TOKENS,
    )


def summary_write(*, session_id, tenant_id) -> SummaryRun:
    """Write the session's summary, if it is waiting for one (the worker's job). Transient
    failures of the service are retried with backoff (``retry_delay``) up to
    SUMMARY_MAX_ATTEMPTS calls, while the shared circuit breaker is open nobody calls; any
    other failure, and the last attempt's, is recorded on the summary (failed, with the
    reason). Returns what came of it, and when to run again if it should."""
    with rls.tenant_context(tenant_id):
        claimed = _claim(session_id)
        if isinstance(claimed, SummaryRun):
            return claimed
        try:
            return _write_claimed(claimed, session_id)
        except Exception:
            # Not left "being written" until the claim runs out: failed, visibly, and the
            # recruiter may ask again. The error goes to the operators' log.
            logger.exception("summary run stopped by an error", extra={"session": str(session_id)})
            _finish_run(
                claimed,
                status=SummaryStatus.FAILED,
                error="An unexpected error stopped the summary; ask for it again.",
            )
            raise


def _write_claimed(summary: SessionSummary, session_id) -> SummaryRun:
    """``summary_write`` once this run holds the summary (tenant context set)."""
    session = InterviewSession.objects.select_related("template").filter(pk=session_id).first()
    if session is None:
        return SummaryRun("skipped")  # erased meanwhile (its summary with it)
    breaker = summary_breaker()
    try:
        breaker.before_call()
    except CircuitOpen as exc:
        wait = exc.retry_after + _random.uniform(0, min(exc.retry_after, 10))
        _release(summary, f"Waiting: {exc}")
        return SummaryRun("retry", retry_in=wait)

    summary.attempts += 1
    _ours(summary).update(attempts=summary.attempts)
    material = selectors.summary_material(session)
    try:
        answer = _ask(material)
    except SummaryServiceError as exc:
        if exc.outage:
            breaker.failed()
        else:
            breaker.succeeded()  # it answered: the service is up
        attempt = summary.attempts
        if exc.transient and attempt < settings.SUMMARY_MAX_ATTEMPTS:
            delay = retry_delay(attempt, exc.retry_after)
            _release(summary, f"Attempt {attempt} failed: {exc} Trying again shortly.")
            logger.info(
                "summary attempt failed; retrying",
                extra={"session": str(session_id), "attempt": attempt, "delay": delay},
            )
            return SummaryRun("retry", retry_in=delay)
        tries = f" Gave up after {attempt} attempts." if attempt > 1 else ""
        return _fail(summary, session, f"{exc}{tries}")
    breaker.succeeded()

    try:
        fields = summary_fields(answer, material)
    except UnusableAnswer as exc:
        return _fail(summary, session, str(exc))
    # The summary, its timeline event and its webhooks together, or none of them.
    with transaction.atomic():
        if not _finish_run(summary, status=SummaryStatus.READY, error="", **fields):
            return SummaryRun("skipped")  # a re-run took it over meanwhile
        session_event_record(
            session=session,
            kind="summary.ready",
            data={
                "model": fields["model"],
                "prompt_version": PROMPT_VERSION,
                "quotes_dropped": fields["quotes_dropped"],
            },
        )
        summary_ready_emit(summary, session)
    _observe_latency(session.ended_at, "ready")
    return SummaryRun("ready")


def summary_give_up(*, session_id, tenant_id, reason: str) -> bool:
    """Mark a summary that waited too long as failed (the worker stops retrying). One that
    another worker is writing is left to it."""
    stale = timezone.now() - claim_ttl()
    with rls.tenant_context(tenant_id), transaction.atomic():
        _lock_session(session_id)
        summary = (
            SessionSummary.objects.select_for_update()
            .filter(session_id=session_id)
            .filter(
                Q(status=SummaryStatus.PENDING)
                | Q(status=SummaryStatus.RUNNING, claimed_at__lt=stale)
            )
            .first()
        )
        if summary is None:
            return False
        summary.status = SummaryStatus.FAILED
        summary.attempt_id = None
        summary.claimed_at = None
        summary.error = reason[:1000]
        summary.save(update_fields=["status", "attempt_id", "claimed_at", "error", "updated_at"])
        live_summary_changed(summary)
        ended_at = InterviewSession.objects.filter(pk=session_id).values_list("ended_at").first()
    _observe_latency(ended_at[0] if ended_at else None, "failed")
    return True
