"""The follower's reads and writes of its session: each runs in the worker's database thread,
inside the tenant's context, on the session as it is now."""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.db import DatabaseError

from core import rls
from core.dbthreads import recover_connection
from interviews import selectors, services
from interviews.models import ON_CALL_STATUSES, InterviewSession, SessionEvent

from .deadline import session_deadline

logger = logging.getLogger(__name__)


class CallGone(Exception):
    """The session ended or moved to another call: stop following this one."""


class SessionStore:
    """The session one call belongs to. A session that no longer exists is ``CallGone``."""

    def __init__(self, *, session_id: str, tenant_id: str, call_id: str):
        self.session_id = session_id
        self.tenant_id = tenant_id
        self.call_id = call_id

    async def run(self, fn):
        """``fn(session)`` in the database thread, with the session freshly read."""

        @recover_connection
        def run():
            with rls.tenant_context(self.tenant_id):
                try:
                    session = InterviewSession.objects.select_related("template").get(
                        pk=self.session_id
                    )
                except InterviewSession.DoesNotExist:
                    raise CallGone() from None
                return fn(session)

        return await sync_to_async(run)()

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
        call its own conversation back, as if it were an earlier call's."""

        def heard(session):
            first_attached = (
                SessionEvent.objects.filter(
                    session=session, kind="sideband.attached", data__call_id=self.call_id
                )
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            )
            return selectors.session_heard_so_far(
                session, max_items=max_items, max_chars=max_chars, written_before=first_attached
            )

        return await self.run(heard)

    async def transcript_append(self, **entry) -> None:
        await self.run(lambda s: services.transcript_append(session=s, **entry))

    async def end(self, reason: str) -> bool:
        """End the session if this is still its call; whether it ended now."""

        def end_if_current(session):
            if session.provider_call_id != self.call_id:
                return False
            return services.session_end(session=session, reason=reason)

        return await self.run(end_if_current)

    async def event(self, kind: str, data: dict) -> None:
        await self.run(lambda s: services.session_event_record(session=s, kind=kind, data=data))

    async def note(self, kind: str, data: dict) -> None:
        """A timeline event that must not stop the follower if the database is away."""
        try:
            await self.event(kind, data)
        except DatabaseError:
            logger.warning(
                "sideband: event not recorded", extra={"call": self.call_id, "kind": kind}
            )
