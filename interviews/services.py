"""Writes for candidates, templates and sessions. Admin, API and tasks all come through here."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone
from psycopg.types.json import Jsonb

from core import asyncdb, rls
from tenants.models import Tenant
from tenants.services import audit_record

from .models import (
    ACTIVE_STATUSES,
    SESSION_RESTAMPED_STATUSES,
    SESSION_STATUS_TIMESTAMPS,
    SESSION_TRANSITIONS,
    TERMINAL_STATUSES,
    Candidate,
    CandidateStatus,
    Consent,
    Decision,
    InterviewSession,
    InterviewTemplate,
    RubricCriterion,
    SessionEvent,
    SessionStatus,
    TemplateQuestion,
    TranscriptEntry,
    TranscriptSource,
)
from .selectors import (
    session_for_candidate_async,
    session_realtime_config_for_candidate,
    template_realtime_config,
)

User = get_user_model()

CANDIDATE_EDITABLE_FIELDS = ("email", "full_name", "external_id", "status")


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


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email or "").strip().lower()


# --- Candidates -----------------------------------------------------------------------------


def _require_unique_candidate(*, tenant_id, email: str, external_id: str, exclude_pk=None):
    others = Candidate.objects.filter(tenant_id=tenant_id).exclude(pk=exclude_pk)
    if others.filter(email=email).exists():
        raise ValidationError({"email": "A candidate with this email already exists."})
    if external_id and others.filter(external_id=external_id).exists():
        raise ValidationError({"external_id": "A candidate with this external id already exists."})


@transaction.atomic
def candidate_create(
    *, tenant: Tenant, email: str, full_name: str = "", external_id: str = "", actor
) -> Candidate:
    """Add a candidate to the tenant's pipeline (emails are stored lower-case)."""
    email = normalize_email(email)
    external_id = (external_id or "").strip()
    _require_unique_candidate(tenant_id=tenant.pk, email=email, external_id=external_id)
    candidate = Candidate(
        tenant=tenant, email=email, full_name=full_name.strip(), external_id=external_id
    )
    candidate.full_clean(exclude=["tenant", "user"])
    candidate.save(force_insert=True)
    audit_record(action="candidate.created", tenant=tenant, actor=actor, target=candidate)
    return candidate


@transaction.atomic
def candidate_update(*, candidate: Candidate, actor, changes: dict) -> Candidate:
    """Apply a recruiter's edits. The audit trail records which fields changed (and status
    values), never the personal data itself."""
    unknown = set(changes) - set(CANDIDATE_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    stored = Candidate.objects.values(*CANDIDATE_EDITABLE_FIELDS).get(pk=candidate.pk)
    previous_status = stored["status"]
    changes = {field: value for field, value in changes.items() if stored[field] != value}
    for field, value in changes.items():
        setattr(candidate, field, value)
    _require_unique_candidate(
        tenant_id=candidate.tenant_id,
        email=candidate.email,
        external_id=candidate.external_id,
        exclude_pk=candidate.pk,
    )
    candidate.full_clean(exclude=["tenant", "user"])
    if not changes:
        return candidate
    fields = [*changes, "updated_at"]
    if "email" in changes and candidate.user_id:
        # The account proved the old address, not the new one: it must sign in again.
        candidate.user = None
        fields.append("user")
    candidate.save(update_fields=fields)
    details: dict = {"fields": sorted(changes)}
    if "status" in changes:
        details["status"] = {"from": previous_status, "to": candidate.status}
    audit_record(
        action="candidate.changed",
        tenant_id=candidate.tenant_id,
        actor=actor,
        target=candidate,
        details=details,
    )
    return candidate


@transaction.atomic
def candidate_set_status(*, candidates, status: str, actor) -> int:
    """Move several candidates to ``status`` (an admin action); returns how many changed."""
    if status not in CandidateStatus.values:
        raise ValidationError(f"Unknown candidate status {status!r}.")
    changed = 0
    for candidate in candidates:
        if candidate.status != status:
            candidate_update(candidate=candidate, actor=actor, changes={"status": status})
            changed += 1
    return changed


@transaction.atomic
def candidate_delete(*, candidate: Candidate, actor) -> None:
    """Delete a candidate and everything recorded about them (sessions, transcripts...)."""
    audit_record(
        action="candidate.deleted",
        tenant_id=candidate.tenant_id,
        actor=actor,
        target=candidate,
    )
    candidate.delete()


# --- Candidate status: following the candidate's progress ---------------------------------
# The one rule for what a candidate's status becomes when something happens in their pipeline.
# What the interview itself does (it starts, it ends) only ever moves a candidate forward, so a
# stale session expiring late never undoes an "Interviewed" or a recruiter's decision. What a
# recruiter does on purpose (invites, decides) sets the status: re-inviting a rejected or
# withdrawn candidate starts a new round, so they are "Invited" again.


class PipelineEvent:
    INVITED = "invitation.issued"
    INTERVIEW_STARTED = "session.live"
    INTERVIEW_ENDED = "session.ended"
    DECIDED = "session.decision"


#: How far along the pipeline each status is (the decisions and a withdrawal are all "done").
_PIPELINE_STAGE = {
    CandidateStatus.NEW: 0,
    CandidateStatus.INVITED: 1,
    CandidateStatus.INTERVIEWING: 2,
    CandidateStatus.INTERVIEWED: 3,
    CandidateStatus.ADVANCED: 4,
    CandidateStatus.ON_HOLD: 4,
    CandidateStatus.REJECTED: 4,
    CandidateStatus.WITHDRAWN: 4,
}
DECISION_STATUS = {
    Decision.ADVANCE: CandidateStatus.ADVANCED,
    Decision.HOLD: CandidateStatus.ON_HOLD,
    Decision.REJECT: CandidateStatus.REJECTED,
}


def candidate_status_after(
    current: str, event: str, *, decision: str = "", previous_decision: str = ""
) -> str:
    """The status a candidate in ``current`` has after ``event`` (a ``PipelineEvent``).

    - invited: "Invited", except while an interview is under way (it stays "Interviewing").
    - an interview started (the session went live): "Interviewing", unless further along.
    - an interview that had started ended (completed, or cut short): "Interviewed", unless
      further along. One that never started changes nothing.
    - a decision: its status (Advance -> "Advanced", Hold -> "On hold", Reject ->
      "Rejected"), whatever the status was. Clearing a decision takes the candidate back to
      "Interviewed" if their status was the one that decision had set.
    """
    if event == PipelineEvent.INVITED:
        return current if current == CandidateStatus.INTERVIEWING else CandidateStatus.INVITED
    if event in (PipelineEvent.INTERVIEW_STARTED, PipelineEvent.INTERVIEW_ENDED):
        target = (
            CandidateStatus.INTERVIEWING
            if event == PipelineEvent.INTERVIEW_STARTED
            else CandidateStatus.INTERVIEWED
        )
        return target if _PIPELINE_STAGE[target] > _PIPELINE_STAGE.get(current, 0) else current
    if event == PipelineEvent.DECIDED:
        if decision:
            return DECISION_STATUS[decision]
        if previous_decision and current == DECISION_STATUS.get(previous_decision):
            return CandidateStatus.INTERVIEWED
        return current
    raise ValueError(f"Unknown pipeline event {event!r}.")


@transaction.atomic
def candidate_status_follow(*, candidate_id, event: str, actor=None, session=None, **rule) -> str:
    """Apply ``candidate_status_after`` to the stored candidate (under a row lock) and record a
    change in the audit trail, naming the event that caused it. Returns the new status."""
    candidate = (
        Candidate.objects.select_for_update().only("id", "tenant_id", "status").get(pk=candidate_id)
    )
    previous = candidate.status
    status = candidate_status_after(previous, event, **rule)
    if status == previous:
        return status
    candidate.status = status
    candidate.save(update_fields=["status", "updated_at"])
    details: dict = {
        "fields": ["status"],
        "status": {"from": previous, "to": status},
        "because": event,
    }
    if session is not None:
        details["session"] = str(session.pk)
    audit_record(
        action="candidate.changed",
        tenant_id=candidate.tenant_id,
        actor=actor,
        target=candidate,
        details=details,
    )
    return status


# --- Templates ------------------------------------------------------------------------------


@transaction.atomic
def template_save(
    *, template: InterviewTemplate, actor, changed_fields: list[str] | None = None
) -> InterviewTemplate:
    """Create or update a template (its questions and rubric: ``template_parts_save``)."""
    creating = template._state.adding
    template.full_clean(exclude=["tenant", "created_by"])
    if creating:
        template.created_by = actor if getattr(actor, "is_authenticated", False) else None
        template.save(force_insert=True)
    elif changed_fields:
        template.save(update_fields=[*changed_fields, "updated_at"])
    else:
        return template
    audit_record(
        action="template.created" if creating else "template.changed",
        tenant_id=template.tenant_id,
        actor=actor,
        target=template,
        details={} if creating else {"fields": sorted(changed_fields or [])},
    )
    return template


#: How the audit trail names a template's parts.
_TEMPLATE_PART_NAMES = {TemplateQuestion: "question", RubricCriterion: "criterion"}


@transaction.atomic
def template_parts_save(
    *,
    template: InterviewTemplate,
    actor,
    added: Collection[tuple[TemplateQuestion | RubricCriterion, list[str]]] = (),
    changed: Collection[tuple[TemplateQuestion | RubricCriterion, list[str]]] = (),
    deleted: Collection[TemplateQuestion | RubricCriterion] = (),
) -> None:
    """Save the template's questions and rubric criteria as the console's form left them:
    each ``(part, names of the fields set or changed)``. Each is audited on the template
    (``template.question_added``, ``..._changed``, ``..._deleted``, likewise ``criterion``)
    with the part's id and the field names, never the text."""
    for part in deleted:
        _template_part_audit(template, part, "deleted", actor=actor)
        part.delete()
    for part, fields in [*added, *changed]:
        creating = part._state.adding
        if not (creating or fields):
            continue
        part.template, part.tenant_id = template, template.tenant_id
        part.full_clean(exclude=["tenant", "template"])
        if creating:
            part.save(force_insert=True)
        else:
            part.save(update_fields=fields)
        _template_part_audit(
            template, part, "added" if creating else "changed", actor=actor, fields=fields
        )


def _template_part_audit(template, part, what: str, *, actor, fields=()) -> None:
    name = _TEMPLATE_PART_NAMES[type(part)]
    details: dict = {name: str(part.pk)}
    if fields:
        details["fields"] = sorted(fields)
    audit_record(
        action=f"template.{name}_{what}",
        tenant_id=template.tenant_id,
        actor=actor,
        target=template,
        details=details,
    )


# --- Sessions -------------------------------------------------------------------------------

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
    (``SESSION_TRANSITIONS``), stamps the matching timestamp and records a SessionEvent.
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
    session_event_record(
        session=session,
        kind=STATUS_CHANGED,
        data=_status_changed_data(current, to, reason=reason, data=data),
    )
    event = _pipeline_event(to, had_started=started_at is not None)
    if event:
        candidate_status_follow(candidate_id=session.candidate_id, event=event, session=session)
    return session


def session_event_record(*, session: InterviewSession, kind: str, data: dict | None = None):
    return SessionEvent.objects.create(
        tenant_id=session.tenant_id, session=session, kind=kind, data=data or {}
    )


@transaction.atomic
def session_record_decision(
    *, session: InterviewSession, decision: str, note: str = "", actor
) -> InterviewSession:
    """The recruiter's own decision on a session (the AI's rating is only advice). The
    candidate's status follows it (``candidate_status_after``)."""
    if decision not in Decision.values:
        raise ValidationError(f"Unknown decision {decision!r}.")
    # What is stored, not what the caller's object says: a console form has already put the
    # new decision on it.
    previous = _session_row_locked(session).values_list("decision", flat=True).get()
    session.decision = decision
    session.decision_note = note
    session.decided_by = actor if decision else None
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


# --- Connecting a call: the SDP proxy's two database steps ---------------------------------
# Asynchronous, each one statement in one round trip on core.asyncdb, so an offer holds no
# thread and almost no database time while hundreds are in flight.


class SessionNotFound(Exception):
    """No such session for this candidate (or not in this tenant)."""


@dataclass(frozen=True)
class ConnectTarget:
    session_id: str
    tenant_id: str
    config: dict  # the provider configuration the session was created with


async def session_connect_target(*, session_id, user_id, tenant_id) -> ConnectTarget:
    """Before the provider is asked: the candidate's session, if it may connect, with its
    configuration. Raises SessionNotFound (not theirs, or missing) or IllegalTransition (it
    has ended)."""
    found = await session_for_candidate_async(
        session_id=session_id, user_id=user_id, tenant_id=tenant_id
    )
    if found is None:
        raise SessionNotFound(session_id)
    status, config = found
    if not session_can_transition(status, SessionStatus.CONNECTING):
        raise IllegalTransition(status, SessionStatus.CONNECTING)
    if not config:  # created before configurations were kept with sessions
        build = sync_to_async(session_realtime_config_for_candidate, thread_sensitive=False)
        config = await build(session_id=session_id, user_id=user_id, tenant_id=tenant_id)
    return ConnectTarget(session_id=str(session_id), tenant_id=str(tenant_id), config=config)


def _connect_from() -> list[str]:
    # Plain strings: psycopg would send an enum member's name, not its value.
    return sorted(
        str(status)
        for status, targets in SESSION_TRANSITIONS.items()
        if SessionStatus.CONNECTING in targets
    )


@cache
def _connect_statement() -> str:
    """``session_transition(to="connecting")`` with the new call, as one statement: under the
    row lock, from the statuses the state machine allows, stamping the status's timestamp,
    recording the same timeline event. Recording a call already recorded changes nothing, so
    the statement is safe to repeat (core.asyncdb may send it twice)."""
    to = SessionStatus.CONNECTING
    if _pipeline_event(to, had_started=True) is not None:
        raise RuntimeError("session_transition would also move the candidate; this cannot")
    stamp = SESSION_STATUS_TIMESTAMPS[to]
    stamped = "%(now)s" if to in SESSION_RESTAMPED_STATUSES else f"COALESCE(s.{stamp}, %(now)s)"
    session = InterviewSession._meta.db_table
    event = SessionEvent._meta.db_table
    return f"""
        WITH previous AS (
            SELECT id, status, provider_call_id FROM {session}
            WHERE id = %(session)s FOR UPDATE
        ), moved AS (
            UPDATE {session} s
            SET status = %(to)s, {stamp} = {stamped}, updated_at = %(now)s,
                last_heartbeat_at = %(now)s, connection_state = '', provider = %(provider)s,
                provider_call_id = %(call)s, model = %(model)s, voice = %(voice)s
            FROM previous
            WHERE s.id = previous.id AND previous.status = ANY(%(from)s)
                AND previous.provider_call_id <> %(call)s
            RETURNING previous.status, previous.provider_call_id
        ), recorded AS (
            INSERT INTO {event} (id, tenant_id, session_id, kind, data, created_at)
            SELECT %(event)s, %(tenant)s, %(session)s, %(kind)s,
                   (%(event_data)s -> status)
                   || CASE WHEN provider_call_id <> ''
                           THEN jsonb_build_object('replaces', provider_call_id)
                           ELSE '{{}}'::jsonb END,
                   %(now)s
            FROM moved
        )
        SELECT previous.status,
               CASE WHEN previous.provider_call_id <> %(call)s THEN previous.provider_call_id
                    -- a repeat: the call this one replaced, as the first recording noted it
                    ELSE (SELECT e.data ->> 'replaces' FROM {event} e
                          WHERE e.session_id = %(session)s AND e.kind = %(kind)s
                            AND e.data ->> 'call_id' = %(call)s
                          LIMIT 1)
               END,
               EXISTS (SELECT FROM moved) OR previous.provider_call_id = %(call)s
        FROM previous
    """  # noqa: S608 (table and column names from the models, values bound)


async def session_connect_async(
    target: ConnectTarget,
    *,
    provider: str,
    call_id: str,
    model: str,
    voice: str,
    notify_channel: str = "",
    at=None,
) -> str:
    """Once the provider has answered: remember the call and move the session to connecting
    (a reconnect from connecting or live moves through connecting again), as
    ``session_transition`` does. ``notify_channel``, if given, gets a PostgreSQL notification
    with the session id when the call is recorded (on commit). Returns the call this one
    replaces ("" if none), which the caller hangs up. Raises IllegalTransition if the session
    ended meanwhile."""
    connect_from = _connect_from()
    to = str(SessionStatus.CONNECTING)
    call = {"call_id": call_id}
    rows = await asyncdb.tenant_fetch(
        target.tenant_id,
        _connect_statement(),
        notify=(notify_channel, target.session_id) if notify_channel else None,
        params={
            "session": target.session_id,
            "tenant": target.tenant_id,
            "event": uuid.uuid4(),
            "kind": STATUS_CHANGED,
            # The event for each status the session may be in; the statement takes its own.
            "event_data": Jsonb(
                {status: _status_changed_data(status, to, data=call) for status in connect_from}
            ),
            "to": to,
            "from": connect_from,
            "now": at or timezone.now(),
            "provider": provider,
            "call": call_id,
            "model": model,
            "voice": voice,
        },
    )
    if not rows:
        raise IllegalTransition("missing", SessionStatus.CONNECTING)
    previous_status, replaced, recorded = rows[0]
    if not recorded:
        raise IllegalTransition(previous_status, SessionStatus.CONNECTING)
    return replaced or ""


# --- Live session ---------------------------------------------------------------------------


@transaction.atomic
def session_heartbeat(*, session: InterviewSession, connection_state: str = "") -> InterviewSession:
    """The browser is still there. A connected browser makes a connecting session live."""
    session.last_heartbeat_at = timezone.now()
    fields = ["last_heartbeat_at"]
    if connection_state and connection_state != session.connection_state:
        session.connection_state = connection_state[:32]
        fields.append("connection_state")
    session.save(update_fields=fields)
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


MAX_TRANSCRIPT_TEXT = 10_000
_SEQ_SHIFT = 1_000_000  # above any real entry count


def _make_room(entries, at: int, *, below: int | None = None) -> None:
    """Move the entries from position ``at`` (up to ``below``, if given) down one. Two steps
    keep (session, seq) unique at every row: out of the way, then back one further."""
    moving = entries.filter(seq__gte=at)
    if below is not None:
        moving = moving.filter(seq__lt=below)
    moving.update(seq=F("seq") + _SEQ_SHIFT)
    entries.filter(seq__gte=_SEQ_SHIFT, seq__lt=2 * _SEQ_SHIFT).update(
        seq=F("seq") - _SEQ_SHIFT + 1
    )


def _move_entry(entries, entry: TranscriptEntry, *, to: int) -> None:
    """Move ``entry`` up to position ``to``; the entries from there down to its old place
    move down one."""
    entries.filter(pk=entry.pk).update(seq=3 * _SEQ_SHIFT)  # parked, out of the way
    _make_room(entries, to, below=entry.seq)
    entry.seq = to


@transaction.atomic
def transcript_append(
    *,
    session: InterviewSession,
    speaker: str,
    text: str,
    item_id: str = "",
    source: str = TranscriptSource.SERVER,
    started_ms: int | None = None,
    ended_ms: int | None = None,
    before_item_ids: Collection[str] = (),
) -> tuple[TranscriptEntry | None, bool]:
    """Add one utterance. Deduplicated by the provider's item id: the browser's copy of an
    item the server already has is ignored, and the server's copy replaces the browser's.
    Returns (entry, created).

    Entries go in arrival order, except that an utterance whose text arrives late (the
    candidate's transcription can finish after the interviewer has already answered) is
    placed before the earliest stored entry among ``before_item_ids`` - the items that came
    after it in the conversation - and the entries from there on move down one. The server's
    copy of an item the browser sent first moves the entry there too."""
    text = (text or "").strip()[:MAX_TRANSCRIPT_TEXT]
    if not text:
        return None, False
    # The session row lock orders concurrent appends (sideband and browser) for seq.
    _session_row_locked(session).exists()
    entries = TranscriptEntry.objects.filter(session=session)
    later_ids = [i for i in before_item_ids if i]
    later = (
        entries.filter(provider_item_id__in=later_ids).aggregate(first=Min("seq"))["first"]
        if later_ids
        else None
    )
    if item_id:
        existing = entries.filter(provider_item_id=item_id).first()
        if existing is not None:
            if source == TranscriptSource.SERVER and existing.source == TranscriptSource.CLIENT:
                # The server's account wins entirely: who spoke, what was said and where it
                # belongs in the conversation.
                fields = ["text", "source", "speaker", "started_ms", "ended_ms"]
                if later is not None and later < existing.seq:
                    _move_entry(entries, existing, to=later)
                    fields.append("seq")
                existing.text, existing.source, existing.speaker = text, source, speaker
                existing.started_ms, existing.ended_ms = started_ms, ended_ms
                existing.save(update_fields=fields)
            return existing, False
    if later is not None:
        seq = later
        _make_room(entries, seq)
    else:
        last = entries.order_by("-seq").values_list("seq", flat=True).first()
        seq = (last or 0) + 1
    entry = TranscriptEntry.objects.create(
        tenant_id=session.tenant_id,
        session=session,
        seq=seq,
        speaker=speaker,
        text=text,
        provider_item_id=item_id[:128],
        source=source,
        started_ms=started_ms,
        ended_ms=ended_ms,
    )
    return entry, True
