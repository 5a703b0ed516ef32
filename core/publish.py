"""Messages to Channels groups from any process and any thread, in the order they were sent.

Writers of live data run in many places: the web process's request threads, the realtime
worker's database thread, Celery's worker processes. Each hands its messages to one publisher
per process: a daemon thread with its own event loop and its own channel-layer connection,
which sends them one after the other. ``send`` never blocks the writer (a database thread
holding a transaction's locks, a request) on Redis, and never makes a new event loop per
message, as ``async_to_sync(layer.group_send)`` would.

A message that cannot be sent (Redis away) is logged and dropped: live views number their
updates and catch up from the database when they see a gap (interviews.services.live_updates).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

#: Messages waiting to be sent, per process, before new ones are dropped (Redis away for long).
MAX_PENDING = 10_000


class Publisher:
    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0

    def send(self, group: str, message: dict) -> None:
        """Queue ``message`` for ``group``; returns at once."""
        loop = self._running_loop()
        with self._lock:
            if self._pending >= MAX_PENDING:
                logger.warning("live update dropped: too many pending", extra={"group": group})
                return
            self._pending += 1
            self._idle.clear()
        loop.call_soon_threadsafe(self._queue.put_nowait, (group, message))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued message was handed to the channel layer."""
        return self._idle.wait(timeout)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                # First use, or a forked child (Celery's prefork pool) that inherited a
                # parent's publisher without its thread.
                self._pid = os.getpid()
                self._pending = 0
                self._idle.set()
                started = threading.Event()
                thread = threading.Thread(
                    target=self._run, args=(started,), name="live-publisher", daemon=True
                )
                thread.start()
                started.wait()
            return self._loop

    def _run(self, started: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._queue = asyncio.Queue()
        started.set()
        self._loop.run_until_complete(self._deliver())

    async def _deliver(self) -> None:
        layer = get_channel_layer()
        while True:
            group, message = await self._queue.get()
            try:
                await layer.group_send(group, message)
            except Exception:
                logger.warning("live update not sent", extra={"group": group}, exc_info=True)
            with self._lock:
                self._pending -= 1
                if self._pending <= 0:
                    self._idle.set()


publisher = Publisher()
atexit.register(publisher.flush, 2.0)
