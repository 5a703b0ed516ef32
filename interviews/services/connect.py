"""Connecting a call: the SDP proxy's two database steps. Asynchronous, each one statement in
one round trip on core.asyncdb, so an offer holds no thread and almost no database time while
hundreds are in flight."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

from asgiref.sync import sync_to_async
from django.utils import timezone
from psycopg.types.json import Jsonb

from core import asyncdb
from core.maintenance import InMaintenance

from ..models import (
    SESSION_RESTAMPED_STATUSES,
    SESSION_STATUS_TIMESTAMPS,
    SESSION_TRANSITIONS,
    InterviewSession,
    SessionEvent,
    SessionStatus,
)
from ..selectors import (
    new_interview_gate_async,
    session_for_candidate_async,
    session_realtime_config_for_candidate,
)
from .live_updates import live_resync_hint, live_status_pushed
from .sessions import (
    STATUS_CHANGED,
    IllegalTransition,
    _pipeline_event,
    _status_changed_data,
    session_can_transition,
)


class SessionNotFound(Exception):
    """No such session for this candidate (or not in this tenant)."""


class TenantSuspended(Exception):
    """The session's company is suspended: its interviews that have not started do not."""


@dataclass(frozen=True)
class ConnectTarget:
    session_id: str
    tenant_id: str
    config: dict  # the provider configuration the session was created with


async def session_connect_target(*, session_id, user_id, tenant_id) -> ConnectTarget:
    """Before the provider is asked: the candidate's session, if it may connect, with its
    configuration. Raises SessionNotFound (not theirs, or missing), IllegalTransition (it
    has ended), TenantSuspended (a first connection while its company is suspended) or
    core.maintenance.InMaintenance (a first connection while the platform is in maintenance);
    a live interview reconnecting goes on."""
    found = await session_for_candidate_async(
        session_id=session_id, user_id=user_id, tenant_id=tenant_id
    )
    if found is None:
        raise SessionNotFound(session_id)
    status, config = found
    if not session_can_transition(status, SessionStatus.CONNECTING):
        raise IllegalTransition(status, SessionStatus.CONNECTING)
    if status == SessionStatus.PENDING:
        active, maintenance = await new_interview_gate_async(tenant_id)
        if maintenance is not None:
            raise InMaintenance(maintenance)
        if not active:
            raise TenantSuspended(session_id)
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
                provider_call_id = %(call)s, model = %(model)s, voice = %(voice)s,
                live_seq = s.live_seq + 1
            FROM previous
            WHERE s.id = previous.id AND previous.status = ANY(%(from)s)
                AND previous.provider_call_id <> %(call)s
            RETURNING previous.status, previous.provider_call_id, s.live_seq, s.started_at
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
               EXISTS (SELECT FROM moved) OR previous.provider_call_id = %(call)s,
               (SELECT live_seq FROM moved), (SELECT started_at FROM moved)
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
    previous_status, replaced, recorded, live_seq, started_at = rows[0]
    if not recorded:
        raise IllegalTransition(previous_status, SessionStatus.CONNECTING)
    if live_seq is None:  # a repeat: the first statement committed, its push is lost
        live_resync_hint(target.session_id)
    else:  # committed now: tell the live views
        live_status_pushed(
            session_id=target.session_id,
            tenant_id=target.tenant_id,
            seq=live_seq,
            status=to,
            started_at=started_at,
        )
    return replaced or ""
