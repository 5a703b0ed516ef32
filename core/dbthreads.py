"""Database use from long-lived threads outside Django's request cycle (the SDP proxy's worker
threads, the realtime worker).

``recover_connection``: nothing closes these threads' connections between uses, so a
connection the database dropped (a restart, a failover) would fail every later call on that
thread; this closes a broken one so the next call reconnects.

``DatabaseThreads``: a fixed number of threads for an event loop's database work, each with
its own connection (Django's connections are per thread), so a process holds at most that
many connections however many tasks use them. Work is given a key and all work of one key
goes to the same thread, in the order it was handed over: one key's writes never overtake
each other, while other keys' go on in the other threads.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, connections


def recover_connection(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DatabaseError:
            for connection in connections.all(initialized_only=True):
                if connection.connection is not None and not connection.is_usable():
                    connection.close()
            raise

    return wrapper


class DatabaseThreads:
    def __init__(self, size: int, *, name: str = "db"):
        if size < 1:
            raise ValueError("at least one database thread")
        self.size = size
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-{index}")
            for index in range(size)
        ]
        self.threads: set[int] = set()  # idents of the threads that ran work (for tests)
        self._lock = threading.Lock()

    def _executor(self, key) -> ThreadPoolExecutor:
        # A stable hash (not hash(), which differs between processes for strings).
        return self._executors[zlib.crc32(str(key).encode()) % self.size]

    async def run(self, key, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` in the thread of ``key``, with the caller's context
        variables. A caller that gives up (cancelled) does not stop work already handed over:
        it runs, in its turn, as a write must."""
        context = contextvars.copy_context()
        call = functools.partial(context.run, self._note_thread, fn, *args, **kwargs)
        # Shielded: cancelling the wait must not take the work off the thread's queue.
        return await asyncio.shield(asyncio.wrap_future(self._executor(key).submit(call)))

    def _note_thread(self, fn, *args, **kwargs):
        ident = threading.get_ident()
        if ident not in self.threads:
            with self._lock:
                self.threads.add(ident)
        return fn(*args, **kwargs)

    async def flush(self, key) -> None:
        """Wait until the work handed over so far for ``key`` has run (its thread runs in
        order), without blocking the event loop."""
        await asyncio.wrap_future(self._executor(key).submit(lambda: None))

    def drain(self) -> None:
        """Wait until the work handed over so far has run (each thread runs in order)."""
        for done in [executor.submit(lambda: None) for executor in self._executors]:
            done.result()

    def close(self) -> None:
        """Close each thread's connections and stop the threads (waits for work handed over)."""
        for executor in self._executors:
            executor.submit(connections.close_all)
            executor.shutdown(wait=True)
