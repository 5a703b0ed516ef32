"""The realtime worker: attaches a SidebandSession to every live call, and re-attaches after a
restart (calls are found in the database, not in memory).

Runs as its own process (`manage.py realtime_worker`, Fly process group `realtime`) so that
web machines stay stateless and can be replaced at any time without dropping a sideband. With
several workers, a Redis lock per call makes sure exactly one follows it; the SDP proxy
notifies new calls on a PostgreSQL channel so they are picked up at once, and a poll catches
anything missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings

from core import asyncdb
from core.dbthreads import recover_connection
from interviews import selectors

from .provider import get_provider
from .sideband import SidebandSession

logger = logging.getLogger(__name__)

# PostgreSQL notification channel: the SDP proxy notifies it in the transaction that records a
# new call, so a worker hears of the call exactly when the call can be read.
ATTACH_CHANNEL = "realtime_attach"
LISTEN_PING_SECONDS = 30
LOCK_PREFIX = "realtime:lock:"
LOCK_TTL_MS = 15_000
SHUTDOWN_SECONDS = 5
# Take a call's lock if it is free or already under this worker's name: an earlier life of
# this worker (killed and restarted under the same REALTIME_WORKER_ID) must not leave its
# calls unfollowed until its lock runs out.
_CLAIM = (
    "local holder = redis.call('get', KEYS[1]) "
    "if holder == false or holder == ARGV[1] then "
    "return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 else return 0 end"
)
# Extend a call's lock only while this worker still holds it; one that vanished (Redis
# restarted without its keys) is taken again rather than given up.
_EXTEND = (
    "local holder = redis.call('get', KEYS[1]) "
    "if holder == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end "
    "if holder == false then return redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 end "
    "return 0"
)
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


class RealtimeWorker:
    def __init__(self, *, poll_seconds: float = 2.0):
        self.poll_seconds = poll_seconds
        self.identity = settings.REALTIME_WORKER_ID or f"{socket.gethostname()}:{os.getpid()}"
        self.tasks: dict[str, asyncio.Task] = {}
        self.redis = None
        self.wake = asyncio.Event()
        self.listening = asyncio.Event()  # set once new calls are heard of at once

    async def _claim(self, call_id: str) -> bool:
        if self.redis is None:
            return True
        return bool(
            await self.redis.eval(_CLAIM, 1, LOCK_PREFIX + call_id, self.identity, LOCK_TTL_MS)
        )

    async def _keep_claims(self) -> None:
        extend = self.redis.register_script(_EXTEND)
        while True:
            await asyncio.sleep(LOCK_TTL_MS / 3000)
            for call_id, task in list(self.tasks.items()):
                try:
                    held = await extend(
                        keys=[LOCK_PREFIX + call_id], args=[self.identity, LOCK_TTL_MS]
                    )
                except Exception:  # Redis unavailable: keep trying, the next round may work
                    logger.warning("could not extend a call lock", extra={"call": call_id})
                    continue
                if not held:
                    # Another worker took the call over (our lock lapsed): let it have it.
                    logger.warning("lost a call lock", extra={"call": call_id})
                    task.cancel()

    async def _listen(self) -> None:
        while True:  # the poll covers any gap while the database is away
            try:
                connection = await psycopg.AsyncConnection.connect(
                    asyncdb.conninfo(), autocommit=True
                )
                async with connection:
                    await connection.execute(f"LISTEN {ATTACH_CHANNEL}")
                    self.listening.set()
                    self.wake.set()  # anything notified before we listened
                    while True:
                        async for _ in connection.notifies(timeout=LISTEN_PING_SECONDS):
                            self.wake.set()
                        # Quiet for a while: make sure the link is alive, not half-open.
                        await asyncio.wait_for(connection.execute("SELECT 1"), 10)
            except (psycopg.Error, OSError, TimeoutError):
                self.listening.clear()
                logger.warning("new-call notifications interrupted; retrying")
                await asyncio.sleep(1)

    async def _follow(self, session_id, tenant_id, call_id) -> None:
        try:
            await SidebandSession(
                session_id=session_id, tenant_id=tenant_id, call_id=call_id, provider=get_provider()
            ).run()
        except Exception:
            logger.exception("sideband session crashed", extra={"call": call_id})
        finally:
            self.tasks.pop(call_id, None)
            if self.redis is not None:
                with contextlib.suppress(Exception):
                    await self.redis.eval(_RELEASE, 1, LOCK_PREFIX + call_id, self.identity)

    async def scan(self) -> None:
        live = await sync_to_async(recover_connection(selectors.live_calls))()
        for session_id, tenant_id, call_id in live:
            if call_id in self.tasks or not await self._claim(call_id):
                continue
            logger.info("attaching sideband", extra={"call": call_id, "session": session_id})
            self.tasks[call_id] = asyncio.ensure_future(
                self._follow(session_id, tenant_id, call_id)
            )

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        helpers = [asyncio.ensure_future(self._listen())]
        if settings.REDIS_URL:
            import redis.asyncio as aioredis

            self.redis = aioredis.Redis.from_url(settings.REDIS_URL)
            helpers.append(asyncio.ensure_future(self._keep_claims()))
        try:
            while not stop.is_set():
                self.wake.clear()  # before the scan: a call notified during it rescans at once
                try:
                    await self.scan()
                except Exception:
                    logger.exception("realtime worker: scan failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
        finally:
            running = [*helpers, *self.tasks.values()]
            for task in running:
                task.cancel()
            # Let them unwind (release their call locks) before the connections close, but
            # not for ever: a Redis that does not answer must not hold up a shutdown.
            await asyncio.wait(running, timeout=SHUTDOWN_SECONDS)
            await get_provider().aclose()  # this loop's HTTP client
            if self.redis is not None:
                await self.redis.aclose()
