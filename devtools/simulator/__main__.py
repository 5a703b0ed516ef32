"""Run the simulator alone: ``python -m devtools.simulator --port 8765``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from devtools.simulator.api import serve

logger = logging.getLogger("interviews.simulator")


def main() -> None:
    parser = argparse.ArgumentParser(description="A local stand-in for OpenAI Realtime.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO,
        format='{"level": "%(levelname)s", "logger": "%(name)s", "message": "%(message)s"}',
    )

    async def forever():
        await serve(args.host, args.port)
        logger.info("simulator listening on %s:%s", args.host, args.port)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(forever())


if __name__ == "__main__":
    main()
