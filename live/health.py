"""The realtime worker's health endpoint: a minimal HTTP server on its own port, for Fly's
machine check on the ``realtime`` process group (fly.toml ``[checks.realtime]``).

The worker serves no HTTP otherwise, and a check that only sees the process alive would miss
the failure that matters: a worker whose scans for live calls keep failing (database away,
wrong role) follows no new interview. So it answers 200 only while the scans succeed."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

READ_SECONDS = 5


async def serve_health(*, port: int, healthy: Callable[[], bool], host: str = "0.0.0.0"):  # noqa: S104
    """Start answering any GET on ``host:port`` with 200 while ``healthy()`` holds, else 503.
    Returns the asyncio server (close it to stop)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_SECONDS)
            ok = healthy()
            body = json.dumps({"status": "ok" if ok else "unavailable"}).encode()
            status = b"200 OK" if ok else b"503 Service Unavailable"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass  # a client that went away or never finished its request
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    logger.info("realtime worker health endpoint listening", extra={"port": port})
    return server
