"""Live updates of a session for the recruiters watching it (live.watch), in order, after
each change commits.

Every change a live view shows - a transcript entry written or moved, a status or connection
change, a notable timeline event - takes the session's next update number (``live_seq`` on
the session row, incremented in the same transaction as the change) and is pushed to the
session's group once that transaction commits, from whichever process made it (the web
process, the realtime worker, Celery). The number makes the stream checkable: a viewer that
read the session as of update N (``selectors.session_live_snapshot``) applies exactly the
pushes numbered above N, and one that sees a number skipped asks for the changes since the
last number it holds. Entries carry the number of their last change (``live_seq``), so that
catch-up is one query.

Who is speaking is pushed as it happens and not numbered: it is not stored, and the next
push replaces it.
"""

from __future__ import annotations

from django.db import connection, transaction

from core.publish import publisher

from ..models import InterviewSession, TranscriptEntry
from ..selectors import (
    iso_or_none,
    live_entry_payload,
    live_status_payload,
    live_summary_payload,
)

#: The Channels message type of every live update (handled by ``live_update`` in consumers).
MESSAGE_TYPE = "live.update"
#: Timeline events a live view shows as they happen (status changes are pushed as ``status``).
NOTABLE_EVENTS = frozenset(
    {
        "sideband.attached",
        "sideband.dropped",
        "assessment",
        "tool.called",
        "provider.error",
        "page.opened",
    }
)


def session_group(session_id) -> str:
    return f"session-live.{session_id}"


def tenant_group(tenant_id) -> str:
    """Every status change of the tenant's sessions (the console's "Live now" list)."""
    return f"tenant-live.{tenant_id}"


def next_seq(session_id) -> int:
    """The session's next update number. Takes the session's row lock until commit, so
    updates of one session are numbered in commit order (and writers that start here need no
    other lock). A session that does not exist (or is not the tenant's) is
    ``InterviewSession.DoesNotExist``."""
    return next_seq_and_status(session_id)[0]


def next_seq_and_status(session_id) -> tuple[int, str]:
    """``next_seq``, and the session's status as it is under the lock (for a writer that holds
    only the session's id)."""
    table = InterviewSession._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET live_seq = live_seq + 1 WHERE id = %s RETURNING live_seq, status",  # noqa: S608
            [session_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise InterviewSession.DoesNotExist(session_id)
    return row[0], row[1]


def _push(groups: list[str], message: dict) -> None:
    for group in groups:
        publisher.send(group, {"type": MESSAGE_TYPE, **message})


def _push_on_commit(groups: list[str], message: dict) -> None:
    transaction.on_commit(lambda: _push(groups, message))


def live_entry_written(entry: TranscriptEntry, *, after) -> None:
    """A transcript entry was written or moved, numbered ``entry.live_seq`` (taken with
    ``next_seq`` in the same transaction); ``after`` is the id of the entry now before it."""
    message = {
        "kind": "entry",
        "seq": entry.live_seq,
        "entry": live_entry_payload(entry, after=after),
    }
    _push_on_commit([session_group(entry.session_id)], message)


def live_unchanged(session_id, seq: int) -> None:
    """Update ``seq`` was taken and nothing changed (a copy of an entry already stored): it
    is pushed all the same, so that viewers see no gap."""
    _push_on_commit([session_group(session_id)], {"kind": "unchanged", "seq": seq})


def live_status_changed(session: InterviewSession) -> None:
    """The session's status or connection state changed (inside its transaction). What is
    pushed is the row as it is now, read under the lock the number takes - not the caller's
    copy, which a writer that did not lock (a heartbeat) may hold from before another
    change."""
    table = InterviewSession._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET live_seq = live_seq + 1 WHERE id = %s "  # noqa: S608
            "RETURNING live_seq, status, connection_state, started_at, ended_at, end_reason",
            [session.pk],
        )
        seq, *row = cursor.fetchone()
    names = ("status", "connection_state", "started_at", "ended_at", "end_reason")
    current = InterviewSession(pk=session.pk, **dict(zip(names, row, strict=True)))
    message = {"kind": "status", "seq": seq, "session": live_status_payload(current)}
    _push_on_commit([session_group(session.pk), tenant_group(session.tenant_id)], message)


def live_status_pushed(*, session_id, tenant_id, seq: int, status: str, started_at) -> None:
    """The SDP proxy's connect step (one statement, already committed, numbered ``seq``)."""
    payload = {
        "id": str(session_id),
        "status": status,
        "connection_state": "",
        "started_at": iso_or_none(started_at),
        "ended_at": None,
        "end_reason": "",
    }
    message = {"kind": "status", "seq": seq, "session": payload}
    _push([session_group(session_id), tenant_group(tenant_id)], message)


def live_resync_hint(session_id) -> None:
    """An update was committed whose push is lost (the connect step's statement sent twice,
    its first reply lost): viewers ask for what they missed."""
    _push([session_group(session_id)], {"kind": "resync"})


def live_event_recorded(session: InterviewSession, kind: str, at) -> None:
    """A timeline event was recorded (inside its transaction); only notable ones are shown."""
    if kind not in NOTABLE_EVENTS:
        return
    seq = next_seq(session.pk)
    message = {"kind": "event", "seq": seq, "event": {"kind": kind, "at": at.isoformat()}}
    _push_on_commit([session_group(session.pk)], message)


def live_summary_changed(summary) -> None:
    """The session's AI summary changed state (asked for, written, failed), inside its
    transaction."""
    seq = next_seq(summary.session_id)
    message = {"kind": "summary", "seq": seq, "summary": live_summary_payload(summary)}
    _push_on_commit([session_group(summary.session_id)], message)


def live_speaking(session_id, who: str | None) -> None:
    """Who is speaking on the call now (None: nobody), pushed at once, not numbered."""
    publisher.send(
        session_group(session_id), {"type": MESSAGE_TYPE, "kind": "speaking", "who": who}
    )
