"""One follower per provider call: attaches to the call's sideband, re-attaches when the
socket drops, starts the interviewer, and ends the session (and hangs up) when it is over.
What it does with each event is in ``dispatch``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from django.db import DatabaseError

from core import metrics

from ..provider import ProviderError, RealtimeProvider
from .config_guard import ConfigGuard
from .conversation import Conversation
from .deadline import end_at_deadline
from .dispatch import dispatch
from .store import CallGone, SessionStore
from .tools import ToolCalls

logger = logging.getLogger(__name__)

START_POLL_SECONDS = 0.2  # how often a new call checks whether the browser has connected


class SidebandSession:
    """Follows one provider call of one session until the session ends or changes call."""

    def __init__(
        self,
        *,
        session_id: str,
        tenant_id: str,
        call_id: str,
        provider: RealtimeProvider,
        reconnect_delays=(0.5, 1, 2, 4, 8),
        start_wait: float = 15,
    ):
        self.call_id = call_id
        self.provider = provider
        self.reconnect_delays = reconnect_delays
        self.start_wait = start_wait
        self.store = SessionStore(session_id=session_id, tenant_id=tenant_id, call_id=call_id)
        self.conversation = Conversation(self.store)
        self.config_guard = ConfigGuard(self.store)
        self.tools = ToolCalls(self.store, end=self.end)
        self.config: dict = {}  # the server's session configuration, read on every attach
        self.deadline = None
        self.started = False  # the interviewer was started on this call
        self.responded = False  # a response began on this call (first: the candidate spoke)
        self.live = False  # this follower made the session live (or saw sound flowing)
        self.ending = False
        self.pending_end: str | None = None  # an end the database has not recorded yet

    async def _hangup(self) -> None:
        try:
            await self.provider.hangup(self.call_id)
        except ProviderError as exc:
            logger.warning("hangup failed", extra={"call": self.call_id, "error": str(exc)})

    async def run(self) -> None:
        failures = 0
        attempt = "first"  # "reconnect" once this follower's sideband has dropped
        while True:
            try:
                self.config, self.deadline, started = await self.store.load()
                self.started = self.started or started
            except CallGone:
                if self.pending_end:  # ended after all (or replaced): the call must not go on
                    await self._hangup()
                return
            except DatabaseError:
                logger.warning("sideband: database unavailable", extra={"call": self.call_id})
                await asyncio.sleep(self.reconnect_delays[-1])
                continue
            if self.pending_end:  # the interview ended but the database did not hear of it
                try:
                    await self.end(self.pending_end)
                except DatabaseError:
                    await asyncio.sleep(self.reconnect_delays[-1])
                    continue
                return
            try:
                sideband = await self.provider.attach(self.call_id)
            except ProviderError as exc:
                failures += 1
                metrics.SIDEBAND_ATTACHES.labels(attempt, "failed").inc()
                logger.warning(
                    "sideband attach failed", extra={"call": self.call_id, "error": str(exc)}
                )
                await self.store.note("sideband.attach_failed", {"attempt": failures})
                if failures > len(self.reconnect_delays):
                    return  # the heartbeat job ends the session if the browser is gone too
                await asyncio.sleep(self.reconnect_delays[failures - 1])
                continue
            failures = 0
            metrics.SIDEBAND_ATTACHES.labels(attempt, "attached").inc()
            await self.store.note("sideband.attached", {"call_id": self.call_id})
            timer = asyncio.ensure_future(
                end_at_deadline(
                    self.deadline, end=self.end, sideband=sideband, call_id=self.call_id
                )
            )
            # The interviewer speaks first, once we are listening and the candidate can hear.
            starter = None if self.started else asyncio.ensure_future(self._start(sideband))
            if starter is not None:
                starter.add_done_callback(self._start_done)
            try:
                async for event in sideband:
                    await self.handle(event, sideband)
            except Exception:
                logger.exception("sideband: connection error", extra={"call": self.call_id})
            finally:
                timer.cancel()
                if starter is not None:
                    starter.cancel()
                with contextlib.suppress(Exception):
                    await sideband.close()
            if self.ending:
                return
            metrics.SIDEBAND_DROPS.inc()
            attempt = "reconnect"
            await self.store.note("sideband.dropped", {})
            await asyncio.sleep(self.reconnect_delays[0])

    async def handle(self, event: dict, sideband) -> None:
        await dispatch(self, event, sideband)

    async def _start(self, sideband) -> None:
        """Start the interviewer on this call. When the call replaces an earlier one of the
        session, first hand it the conversation so far (at once: it makes no sound, and a
        candidate's "hello?" must not meet an empty conversation), so the interviewer carries
        on where it stopped. Then ask it to speak once the browser reports the call connected,
        or after ``start_wait`` seconds, so a browser whose heartbeats fail still gets its
        interview. If the candidate spoke first, the provider's turn detection has already
        started a response: asking for another would make the interviewer talk twice. The
        database being away delays the start; it does not cancel it."""
        while True:
            try:
                history, assessed = await self.conversation.stored_so_far()
                break
            except CallGone:
                return
            except DatabaseError:
                await asyncio.sleep(self.reconnect_delays[0])
        await self.conversation.hand_over(history, assessed, sideband)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.start_wait
        while loop.time() < give_up and not self.responded:
            try:
                if await self.store.browser_connected():
                    break
            except CallGone:
                return
            except DatabaseError:
                pass  # keep waiting; the time limit still applies
            await asyncio.sleep(START_POLL_SECONDS)
        by = "candidate" if self.responded else "server"
        if not self.responded:
            await sideband.send({"type": "response.create"})
        self.started = True
        await self.store.note(
            "interviewer.started",
            {"call_id": self.call_id, "resumed_items": len(history), "by": by},
        )

    def _start_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            # The socket failed under it: the loop re-attaches and starts again.
            logger.error(
                "sideband: starting the interviewer failed",
                extra={"call": self.call_id},
                exc_info=task.exception(),
            )

    async def end(self, reason: str, grace: float = 0) -> None:
        """End the session gracefully and hang up the call. A call the session has already
        replaced (the browser reconnected) is only hung up: it does not end the session. If
        the database fails, the end stays pending and the loop tries again."""
        self.ending, self.pending_end = True, reason
        try:
            ended = await self.store.end(reason)
        except Exception:
            self.ending = False
            raise
        self.pending_end = None
        if ended and grace:
            await asyncio.sleep(grace)
        await self._hangup()
