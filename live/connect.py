"""The SDP proxy's two database steps, asynchronous (core.asyncdb): before the provider is
asked, find the session and its configuration; once the provider has answered, move the
session to ``connecting`` with the new call. Each is one statement in one round trip, so an
offer holds no thread and almost no database time while hundreds are in flight.

The move to ``connecting`` applies the state machine table (``SESSION_TRANSITIONS``) in SQL,
under the row lock, and records the same timeline event as ``services.session_transition``.
It is safe to repeat (core.asyncdb may send it twice): a call already recorded is not
recorded again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.utils import timezone

from core import asyncdb
from interviews.models import (
    SESSION_TRANSITIONS,
    Candidate,
    InterviewSession,
    SessionEvent,
    SessionStatus,
)
from interviews.services import IllegalTransition

from .worker import ATTACH_CHANNEL

# Plain strings: psycopg would send an enum member's name, not its value.
CONNECT_FROM = sorted(
    str(status.value)
    for status, targets in SESSION_TRANSITIONS.items()
    if SessionStatus.CONNECTING in targets
)


class SessionNotFound(Exception):
    """No such session for this candidate (or not in this tenant)."""


@dataclass(frozen=True)
class ConnectTarget:
    session_id: str
    tenant_id: str
    config: dict  # the provider configuration the session was created with ({} if none)


@cache
def _statements() -> tuple[str, str]:
    session = InterviewSession._meta.db_table
    candidate = Candidate._meta.db_table
    event = SessionEvent._meta.db_table
    find = f"""
        SELECT s.status, s.realtime_config
        FROM {session} s JOIN {candidate} c ON c.id = s.candidate_id
        WHERE s.id = %(session)s AND c.user_id = %(user)s
    """  # noqa: S608 (table names from the models, values bound)
    connect = f"""
        WITH previous AS (
            SELECT id, status, provider_call_id FROM {session}
            WHERE id = %(session)s FOR UPDATE
        ), moved AS (
            UPDATE {session} s
            SET status = %(to)s, connecting_at = %(now)s, updated_at = %(now)s,
                last_heartbeat_at = %(now)s, connection_state = '', provider = %(provider)s,
                provider_call_id = %(call)s, model = %(model)s, voice = %(voice)s
            FROM previous
            WHERE s.id = previous.id AND previous.status = ANY(%(from)s)
                AND previous.provider_call_id <> %(call)s
            RETURNING previous.status, previous.provider_call_id
        ), recorded AS (
            INSERT INTO {event} (id, tenant_id, session_id, kind, data, created_at)
            SELECT %(event)s, %(tenant)s, %(session)s, 'status_changed',
                   jsonb_build_object('from', status, 'to', %(to)s, 'call_id', %(call)s::text)
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
                          WHERE e.session_id = %(session)s AND e.kind = 'status_changed'
                            AND e.data ->> 'call_id' = %(call)s
                          LIMIT 1)
               END,
               EXISTS (SELECT FROM moved) OR previous.provider_call_id = %(call)s
        FROM previous
    """  # noqa: S608 (table names from the models, values bound)
    return find, connect


async def session_connect_target(*, session_id: str, user_id: int, tenant_id: str):
    """The session the candidate may connect, with its configuration. Raises SessionNotFound
    (not theirs, or missing) or IllegalTransition (it has ended)."""
    find, _ = _statements()
    rows = await asyncdb.tenant_fetch(tenant_id, find, {"session": session_id, "user": user_id})
    if not rows:
        raise SessionNotFound(session_id)
    status, config = rows[0]
    if status not in CONNECT_FROM:
        raise IllegalTransition(status, SessionStatus.CONNECTING)
    return ConnectTarget(session_id=session_id, tenant_id=tenant_id, config=config or {})


async def session_connect(
    target: ConnectTarget,
    *,
    provider: str,
    call_id: str,
    model: str,
    voice: str,
    at: datetime | None = None,
) -> str:
    """The provider accepted the offer: remember the call and move the session to connecting
    (a reconnect from connecting or live moves through connecting again). Returns the call
    this one replaces ("" if none), which the caller hangs up. Raises IllegalTransition if the
    session ended meanwhile."""
    _, connect = _statements()
    rows = await asyncdb.tenant_fetch(
        target.tenant_id,
        connect,
        notify=(ATTACH_CHANNEL, target.session_id),  # wakes the realtime workers on commit
        params={
            "session": target.session_id,
            "tenant": target.tenant_id,
            "event": uuid.uuid4(),
            "to": SessionStatus.CONNECTING.value,
            "from": CONNECT_FROM,
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
