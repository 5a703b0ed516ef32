"""Run the fake alone: ``python -m devtools.apivideo --port 8766 --data-dir .embedded/apivideo
--webhook-url http://127.0.0.1:8000/api/video/webhooks/ --webhook-secret ...``.
Webhooks also go to every URL registered through ``POST /webhooks`` (server.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from devtools.apivideo.server import FakeApiVideo, serve

logger = logging.getLogger("devtools.apivideo")


def main() -> None:
    parser = argparse.ArgumentParser(description="A local stand-in for api.video.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--data-dir", default=".embedded/apivideo")
    parser.add_argument("--webhook-url", default="")
    parser.add_argument("--webhook-secret", default="")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO,
        format='{"level": "%(levelname)s", "logger": "%(name)s", "message": "%(message)s"}',
    )
    fake = FakeApiVideo(
        Path(args.data_dir), webhook_url=args.webhook_url, webhook_secret=args.webhook_secret
    )

    async def forever():
        await serve(args.host, args.port, fake)
        logger.info("api.video fake listening on %s:%s", args.host, args.port)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(forever())


if __name__ == "__main__":
    main()
