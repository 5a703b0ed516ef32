"""The follower's reads and writes of its session: each runs in one of the worker's database
threads (always the same one for a session, so its writes keep their order), inside the
tenant's context, on the session as it is now."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError

from core import rls
from core.dbthreads import DatabaseThreads, recover_connection
from interviews import selectors, services
from interviews.models import ON_CALL_STATUSES, InterviewSession, SessionEvent

from .deadline import session_deadline

logger = logging.getLogger(__name__)


_threads: DatabaseThreads | None = None
_SESSION_SQL = f"SELECT * FROM {InterviewSession._meta.db_table} WHERE id = %s"  # noqa: S608


def database_threads() -> DatabaseThreads:
    """The process's database threads for following calls: REALTIME_DB_CONNECTIONS of them,
    so a worker holds that many database connections however many calls it follows."""
    global _threads
    if _threads is None or _threads.size != settings.REALTIME_DB_CONNECTIONS:
        previous, _threads = (
            _threads,
            DatabaseThreads(settings.REALTIME_DB_CONNECTIONS, name="realtime-db"),
        )
        if previous is not None:  # the setting changed (tests): let the old threads go
            previous.close()
    return _threads


class CallGone(Exception):
    """The session ended or moved to another call: stop following this one."""


class SessionStore:
    """The session one call belongs to. A session that no longer exists is ``CallGone``."""

    def __init__(self, *, session_id: str, tenant_id: str, call_id: str):
        self.session_id = session_id
        self.tenant_id = tenant_id
        self.call_id = call_id

    async def run(self, fn, *, template: bool = True, read: bool = True):
        """``fn(session)`` in the session's database thread, with the session freshly read
        (``template=False``: without its template, for the writes made on every utterance;
        ``read=False``: not read at all, only its id and tenant, for a write that locks the
        row itself and says ``InterviewSession.DoesNotExist`` if it is gone)."""

        @recover_connection
        def run():
            with rls.tenant_context(self.tenant_id):
                if not read:
                    try:
                        return fn(InterviewSession(pk=self.session_id, tenant_id=self.tenant_id))
                    except InterviewSession.DoesNotExist:
                        raise CallGone() from None
                if template:
                    query = InterviewSession.objects.select_related("template")
                    try:
                        session = query.get(pk=self.session_id)
                    except InterviewSession.DoesNotExist:
                        session = None
                else:
                    # A plain statement: building the ORM's query for a read this frequent
                    # was a fifth of a busy worker's CPU (docs/benchmarks.md).
                    session = next(
                        iter(InterviewSession.objects.raw(_SESSION_SQL, [self.session_id])), None
                    )
                if session is None:
                    raise CallGone()
                return fn(session)

        return await database_threads().run(self.session_id, run)

    def _current(self, session) -> None:
        if session.status not in ON_CALL_STATUSES or session.provider_call_id != self.call_id:
            raise CallGone()

    async def load(self):
        """The configuration to guard, the time limit, and whether the interviewer was
        already started on this call."""

        def load(session):
            self._current(session)
            config = selectors.session_realtime_config(session)
            # Only the first follower of a call starts the interviewer; one that re-attaches (a
            # dropped socket, a restarted worker) must not make it start over.
            started = SessionEvent.objects.filter(
                session=session, kind="interviewer.started", data__call_id=self.call_id
            ).exists()
            return config, session_deadline(session), started

        return await self.run(load)

    async def browser_connected(self) -> bool:
        """Whether the browser reported this call connected."""

        def connected(session):
            self._current(session)
            return session.connection_state == "connected"

        return await self.run(connected)

    async def mark_live(self) -> None:
        def mark(session):
            if session.provider_call_id == self.call_id:  # not for a call already replaced
                services.session_mark_live(session=session, by="sideband")

        await self.run(mark)

    async def heard_so_far(self, *, max_items: int, max_chars: int):
        """What the session's earlier calls heard: entries written before this call was
        first followed. A follower restarted mid-call (its worker killed) must not hand the
        call its own conversation back, as if it were an earlier call's. The cut-off is when
        this call was first followed (``sideband.attached``); that record is best-effort, so
        without it, when the call was connected (its status change, written with the call)."""

        def first_recorded(session, kind):
            return (
                SessionEvent.objects.filter(session=session, kind=kind, data__call_id=self.call_id)
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            )

        def heard(session):
            cut_off = first_recorded(session, "sideband.attached") or first_recorded(
                session, services.STATUS_CHANGED
            )
            return selectors.session_heard_so_far(
                session, max_items=max_items, max_chars=max_chars, written_before=cut_off
            )

        return await self.run(heard)

    async def transcript_append(self, **entry) -> None:
        # The append takes the session's row lock first thing (its update number): the row
        # need not be read before it, on the write made for every utterance.
        await self.run(lambda s: services.transcript_append(session=s, **entry), read=False)

    async def end(self, reason: str) -> bool:
        """End the session if this is still its call; whether it ended now."""

        def end_if_current(session):
            if session.provider_call_id != self.call_id:
                return False
            return services.session_end(session=session, reason=reason)

        return await self.run(end_if_current)

    async def event(self, kind: str, data: dict) -> None:
        await self.run(
            lambda s: services.session_event_record(session=s, kind=kind, data=data),
            template=False,
        )

    async def note(self, kind: str, data: dict) -> None:
        """A timeline event that must not stop the follower if the database is away."""
        try:
            await self.event(kind, data)
        except DatabaseError:
            logger.warning(
                "sideband: event not recorded", extra={"call": self.call_id, "kind": kind}
            )
