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
from django.conf import settings

from core import asyncdb
from core.dbthreads import recover_connection
from interviews import selectors

from .provider import get_provider
from .sideband import SidebandSession
from .sideband.store import database_threads

logger = logging.getLogger(__name__)

# PostgreSQL notification channel: the SDP proxy notifies it in the transaction that records a
# new call, so a worker hears of the call exactly when the call can be read.
ATTACH_CHANNEL = "realtime_attach"
LISTEN_PING_SECONDS = 30
LOCK_PREFIX = "realtime:lock:"
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
        # How long a call's lock outlives its holder: how soon another worker follows the
        # calls of one that died (it is extended every third of it while the worker lives).
        self.lock_ttl_ms = int(settings.REALTIME_LOCK_TTL_SECONDS * 1000)
        self.tasks: dict[str, asyncio.Task] = {}
        self.redis = None
        self.wake = asyncio.Event()
        self.listening = asyncio.Event()  # set once new calls are heard of at once
        self.last_scan_at: float | None = None  # loop time of the last scan that worked

    def healthy(self) -> bool:
        """Whether the last scan for live calls worked recently (live.health): a few polls'
        worth, never under 10 s, so one slow scan does not fail the check."""
        if self.last_scan_at is None:
            return False
        limit = max(3 * self.poll_seconds, 10.0)
        return asyncio.get_running_loop().time() - self.last_scan_at < limit

    async def _claim(self, call_id: str) -> bool:
        if self.redis is None:
            return True
        return bool(
            await self.redis.eval(_CLAIM, 1, LOCK_PREFIX + call_id, self.identity, self.lock_ttl_ms)
        )

    async def _keep_claims(self) -> None:
        extend = self.redis.register_script(_EXTEND)
        while True:
            await asyncio.sleep(self.lock_ttl_ms / 3000)
            followed = list(self.tasks.items())
            if not followed:
                continue
            # Every lock in one round trip. One at a time, a worker following 1,000 calls
            # whose event loop was busy took longer than the TTL to get round them, and
            # lost the calls it was following (docs/benchmarks.md).
            pipeline = self.redis.pipeline(transaction=False)
            for call_id, _ in followed:
                await extend(
                    keys=[LOCK_PREFIX + call_id],
                    args=[self.identity, self.lock_ttl_ms],
                    client=pipeline,
                )
            try:
                results = await pipeline.execute(raise_on_error=False)
            except Exception:  # Redis unavailable: keep trying, the next round may work
                logger.warning("could not extend the call locks", extra={"calls": len(followed)})
                continue
            for (call_id, task), held in zip(followed, results, strict=True):
                if isinstance(held, Exception):
                    logger.warning("could not extend a call lock", extra={"call": call_id})
                    continue
                if held and self.tasks.get(call_id) is not task:
                    # Its follower ended (and let go) during the round trip, and the extension
                    # took the lock again: let go, so another worker need not wait it out.
                    with contextlib.suppress(Exception):
                        await self.redis.eval(_RELEASE, 1, LOCK_PREFIX + call_id, self.identity)
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
            # The writes it handed to the database thread run before the lock goes, so that a
            # worker taking the call over (a shutdown, a lost lock) never writes between them;
            # a database that does not answer must not hold the call for ever.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(database_threads().flush(session_id), SHUTDOWN_SECONDS)
            if self.redis is not None:
                with contextlib.suppress(Exception):
                    await self.redis.eval(_RELEASE, 1, LOCK_PREFIX + call_id, self.identity)

    async def scan(self) -> None:
        live = await database_threads().run("scan", recover_connection(selectors.live_calls))
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
                    self.last_scan_at = asyncio.get_running_loop().time()
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
