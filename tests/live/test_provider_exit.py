"""A process that exits with the provider's HTTP client still open (daphne has no shutdown
hook for applications) logs no error about it."""

import subprocess
import sys
import textwrap
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from aiohttp import web

    from live.provider import OpenAIRealtime


    async def serve():
        async def hangup(request):
            return web.Response()

        app = web.Application()
        app.router.add_post("/v1/realtime/calls/{id}/hangup", hangup)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]


    loop = asyncio.new_event_loop()
    runner, port = loop.run_until_complete(serve())
    provider = OpenAIRealtime(
        base_url=f"http://127.0.0.1:{port}/v1", api_key="k", timeout=5, connect_timeout=5
    )
    loop.run_until_complete(provider.hangup("rtc_x"))
    print("done")  # the client left open, as a web process leaves it
    """
)


def test_exiting_with_the_client_open_logs_no_error():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=BASE, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
    output = result.stdout + result.stderr
    assert "Unclosed" not in output and "Traceback" not in output, output
