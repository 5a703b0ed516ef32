"""Interview sessions: the state machine every status change goes through, the timeline,
the recruiter's decision, consent and session start, and the live session's own writes
(heartbeat, going live, ending, expiring)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import rls
from tenants.services import acting_person, audit_record

from ..models import (
    ACTIVE_STATUSES,
    SESSION_RESTAMPED_STATUSES,
    SESSION_STATUS_TIMESTAMPS,
    SESSION_TRANSITIONS,
    TERMINAL_STATUSES,
    Candidate,
    Consent,
    Decision,
    InterviewSession,
    InterviewTemplate,
    SessionEvent,
    SessionStatus,
)
from ..selectors import template_realtime_config
from .candidate_status import PipelineEvent, candidate_status_follow
from .live_updates import live_event_recorded, live_status_changed
from .webhook_events import decision_recorded_emit, session_moved_emit

# --- The state machine ---------------------------------------------------------------------


class IllegalTransition(ValidationError):
    """A session status change the state machine does not allow."""

    def __init__(self, current: str, target: str):
        super().__init__(
            f"An interview session cannot go from {current!r} to {target!r}.",
            code="illegal_transition",
        )
        self.current = current
        self.target = target


def require_same_tenant(tenant_id, *objects) -> None:
    """Refuse a reference across tenants (the database's foreign keys cannot see tenants)."""
    for obj in objects:
        if obj is not None and obj.tenant_id != tenant_id:
            raise ValidationError(
                f"{obj._meta.verbose_name.capitalize()} belongs to another organisation."
            )


#: The timeline event of a status change.
STATUS_CHANGED = "status_changed"


def session_can_transition(current: str, target: str) -> bool:
    return target in SESSION_TRANSITIONS.get(current, frozenset())


def _session_row_locked(session: InterviewSession):
    """The session's row, locked for the rest of the transaction: writers that read a session
    before changing it (the sideband, the browser, the expiry job, the console) take turns,
    and each reads what is stored rather than what its own copy says."""
    return InterviewSession.objects.select_for_update().filter(pk=session.pk)


def _status_changed_data(current: str, to: str, *, reason: str = "", data=None) -> dict:
    """What the timeline records of a status change (``session_transition`` and
    ``session_connect_async`` alike)."""
    return {"from": current, "to": to, **({"reason": reason} if reason else {}), **(data or {})}


def _pipeline_event(to: str, *, had_started: bool) -> str | None:
    """What a move to ``to`` tells the candidate's pipeline (``candidate_status_follow``)."""
    if to == SessionStatus.LIVE:
        return PipelineEvent.INTERVIEW_STARTED
    if to in TERMINAL_STATUSES and had_started:
        return PipelineEvent.INTERVIEW_ENDED
    return None  # connecting again, or an interview that never started ended


@transaction.atomic
def session_transition(
    *,
    session: InterviewSession,
    to: str,
    reason: str = "",
    data: dict | None = None,
    at=None,
    also_save: list[str] | None = None,
) -> InterviewSession:
    """The one way a session changes status. Locks the row, checks the state machine
    (``SESSION_TRANSITIONS``), stamps the matching timestamp and records a SessionEvent; the
    candidate's status follows, an ended session gets its AI summary
    (``summary_on_session_end``), and the tenant's webhooks hear of a start or an end.
    ``also_save`` names other fields the caller changed, written in the same update.
    Raises IllegalTransition for a move the machine does not allow."""
    at = at or timezone.now()
    current, started_at = _session_row_locked(session).values_list("status", "started_at").get()
    if not session_can_transition(current, to):
        raise IllegalTransition(current, to)
    session.status = to
    fields = ["status", "updated_at", *(also_save or [])]
    stamp = SESSION_STATUS_TIMESTAMPS.get(to)
    if stamp and (to in SESSION_RESTAMPED_STATUSES or getattr(session, stamp) is None):
        setattr(session, stamp, at)
        fields.append(stamp)
    if reason:
        session.end_reason = reason
        fields.append("end_reason")
    session.save(update_fields=fields)
    live_status_changed(session)
    session_event_record(
        session=session,
        kind=STATUS_CHANGED,
        data=_status_changed_data(current, to, reason=reason, data=data),
    )
    event = _pipeline_event(to, had_started=started_at is not None)
    if event:
        candidate_status_follow(candidate_id=session.candidate_id, event=event, session=session)
    session_moved_emit(session, to=to, had_started=started_at is not None)
    if to in TERMINAL_STATUSES:
        # The page stops recording when the interview ends; the segments' videos may still
        # be uploading (the provider's webhook makes them ready).
        session.video_segments.filter(ended_at__isnull=True).update(ended_at=at)
        # The AI's summary, once this commits (if the interview gave it something to judge).
        from .summaries import summary_on_session_end  # it imports this module

        summary_on_session_end(session=session, status=to)
    return session


def session_event_record(*, session: InterviewSession, kind: str, data: dict | None = None):
    event = SessionEvent.objects.create(
        tenant_id=session.tenant_id, session=session, kind=kind, data=data or {}
    )
    live_event_recorded(session, kind, event.created_at)
    return event


@transaction.atomic
def session_record_decision(
    *, session: InterviewSession, decision: str, note: str = "", actor
) -> InterviewSession:
    """The recruiter's own decision on a session (the AI's rating is only advice). The
    candidate's status follows it (``candidate_status_after``), and a changed decision is
    announced to the tenant's webhooks."""
    if decision not in Decision.values:
        raise ValidationError(f"Unknown decision {decision!r}.")
    # What is stored, not what the caller's object says: a console form has already put the
    # new decision on it.
    previous = _session_row_locked(session).values_list("decision", flat=True).get()
    session.decision = decision
    session.decision_note = note
    session.decided_by = acting_person(actor) if decision else None
    session.decided_at = timezone.now() if decision else None
    session.save(
        update_fields=["decision", "decision_note", "decided_by", "decided_at", "updated_at"]
    )
    audit_record(
        action="session.decision",
        tenant_id=session.tenant_id,
        actor=actor,
        target=session,
        details={"from": previous, "to": decision, "note_changed": bool(note)},
    )
    if decision != previous:
        decision_recorded_emit(session, previous=previous)
        candidate_status_follow(
            candidate_id=session.candidate_id,
            event=PipelineEvent.DECIDED,
            actor=actor,
            session=session,
            decision=decision,
            previous_decision=previous,
        )
    return session


# --- Consent and session start --------------------------------------------------------------


def consent_record(
    *, candidate: Candidate, version: str, text: str, ip: str | None, user_agent: str = ""
) -> Consent:
    """Store what the candidate agreed to, word for word, with when and from where."""
    return Consent.objects.create(
        tenant_id=candidate.tenant_id,
        candidate=candidate,
        version=version,
        text=text,
        ip=ip,
        user_agent=(user_agent or "")[:300],
    )


@transaction.atomic
def session_create(
    *, candidate: Candidate, template: InterviewTemplate, consent: Consent
) -> InterviewSession:
    """A new interview session in ``pending``, configured from the template. Requires the
    candidate's consent record (which must be theirs)."""
    require_same_tenant(candidate.tenant_id, template, consent)
    if consent.candidate_id != candidate.pk:
        raise ValidationError("This consent was given by another candidate.")
    session = InterviewSession.objects.create(
        tenant_id=candidate.tenant_id,
        candidate=candidate,
        template=template,
        consent=consent,
        model=template.model,
        voice=template.voice,
        realtime_config=template_realtime_config(template),
    )
    session_event_record(session=session, kind="created", data={"consent": consent.version})
    return session


# --- Live session ---------------------------------------------------------------------------


@transaction.atomic
def session_heartbeat(*, session: InterviewSession, connection_state: str = "") -> InterviewSession:
    """The browser is still there. A connected browser makes a connecting session live."""
    session.last_heartbeat_at = timezone.now()
    fields = ["last_heartbeat_at"]
    changed = bool(connection_state) and connection_state[:32] != session.connection_state
    if changed:
        session.connection_state = connection_state[:32]
        fields.append("connection_state")
    session.save(update_fields=fields)
    if changed:
        live_status_changed(session)
    if connection_state == "connected" and session.status == SessionStatus.CONNECTING:
        # The sideband may have made it live meanwhile; session_mark_live checks under lock.
        session_mark_live(session=session, by="browser")
    return session


@transaction.atomic
def session_mark_live(*, session: InterviewSession, by: str) -> bool:
    """Live once the call is up (the sideband attached or the browser connected)."""
    current = _session_row_locked(session).values_list("status", flat=True).get()
    if current != SessionStatus.CONNECTING:
        return False
    session_transition(session=session, to=SessionStatus.LIVE, data={"by": by})
    return True


@transaction.atomic
def session_end(
    *, session: InterviewSession, reason: str, status: str = SessionStatus.COMPLETED
) -> bool:
    """End an active session (no-op if it already ended). Returns whether it ended now. An
    interview that never went live ends ``abandoned`` rather than ``completed``; one that did
    stays completed even if it ends while the browser is reconnecting. The caller hangs up
    the provider call (live.tasks.hangup_call)."""
    current, started_at = _session_row_locked(session).values_list("status", "started_at").get()
    if current not in ACTIVE_STATUSES:
        return False
    if status == SessionStatus.COMPLETED and started_at is None:
        status = SessionStatus.ABANDONED  # it never got going
    session_transition(session=session, to=status, reason=reason)
    return True


def session_expire(*, session_id, tenant_id, reason: str) -> InterviewSession | None:
    """Abandon a session that went quiet (``selectors.sessions_gone_quiet``). Returns it if it
    ended now - the caller hangs up its provider call - else None (it ended meanwhile)."""
    with rls.tenant_context(tenant_id):
        session = InterviewSession.objects.get(pk=session_id)
        if session_end(session=session, reason=reason, status=SessionStatus.ABANDONED):
            return session
    return None
