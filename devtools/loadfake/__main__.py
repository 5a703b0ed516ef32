"""Run the load fake alone: ``python -m devtools.loadfake --port 8766 [--turn-seconds 6]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from aiohttp import web

from devtools.loadfake.server import LoadFake


def main() -> None:
    parser = argparse.ArgumentParser(description="Many calls' sidebands at a realistic pace.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--turn-seconds", type=float, default=6.0, help="one question and its answer"
    )
    parser.add_argument("--tool-every", type=int, default=3, help="turns per assessment")
    args = parser.parse_args()

    async def forever():
        fake = LoadFake(turn_seconds=args.turn_seconds, tool_every=args.tool_every)
        runner = web.AppRunner(fake.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, args.host, args.port, backlog=2048).start()
        print(f"load fake listening on {args.host}:{args.port}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(forever())


if __name__ == "__main__":
    main()
