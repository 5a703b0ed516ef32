"""The README's run command, end to end: embedded PostgreSQL and Redis, migrations, demo data,
and the production process set (daphne, Celery worker, Celery beat) serving real requests."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BASE = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (local URL)
        return response.status, response.read().decode()


@pytest.fixture
def embedded_dir():
    folder = BASE / ".embedded" / f"run-test-{os.getpid()}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_run_command_serves_the_platform_on_embedded_services(embedded_dir):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL", "DJANGO_ENV"}
    }
    env.pop("OPENAI_API_KEY", None)
    env.pop("APIVIDEO_API_KEY", None)
    env.update(
        EMBEDDED_DIR=str(embedded_dir),
        PORT=str(port),
        WORKER_CONCURRENCY="1",
        SIMULATOR_PORT=str(free_port()),
        APIVIDEO_FAKE_PORT=str(free_port()),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "config.localservices", "run"],
        cwd=BASE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "press Ctrl-C to stop" in line:
                break
        text = "".join(output)
        assert "running at" in text, text
        # The logins and the link come last, in one block; the email is summarised. Last:
        # after the Celery worker's start-up lines, which end with its "ready." line.
        before, block = text.rsplit("running at", 1)
        assert "recruiter login:" in block and "Candidate invitation" in block
        assert re.search(r"celery@\S+ ready\.", before), text
        assert "mingle" in before and "mingle" not in block, text
        assert "simulator listening" in before, text
        assert "api.video fake listening" in before, text
        assert "Content-Type:" not in text

        base = f"http://127.0.0.1:{port}"
        status, body = get(f"{base}/readyz")
        assert status == 200 and '"redis": {"ok": true}' in body
        link = re.search(r"Candidate invitation \(Ada Lovelace\): (\S+)", text).group(1)
        status, body = get(base + "/i/" + link.rsplit("/i/", 1)[1])
        assert status == 200 and "Senior backend engineer" in body
        assert re.search(r"recruiter login: recruiter@demo.example / \S+", text)
        assert embedded_dir.joinpath("pg", "PG_VERSION").exists()
        # Without an API key the simulator serves the provider's protocol for interviews.
        assert "interviews use the local simulator" in text
        request = urllib.request.Request(
            f"http://127.0.0.1:{env['SIMULATOR_PORT']}/v1/realtime/calls", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310 (local URL)
        assert refused.value.code == 401  # it wants a key, as the real service does
        # Without an api.video key the fake serves api.video's protocol for interview video.
        assert "video goes to the local api.video fake" in text
        request = urllib.request.Request(
            f"http://127.0.0.1:{env['APIVIDEO_FAKE_PORT']}/upload-tokens", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310 (local URL)
        assert refused.value.code == 401  # it wants a key, as the real service does
        # The live view is served by the same daphne over the embedded Redis: its socket
        # answers (and closes a visitor who is not signed in with the code that says so).
        assert "Watch it live" in block
        assert live_socket_close_code(port) == 4401
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    # Everything it started stopped with it.
    leftovers = subprocess.run(
        ["pgrep", "-f", str(embedded_dir)], capture_output=True, text=True
    ).stdout
    assert leftovers.strip() == ""


def live_socket_close_code(port: int) -> int:
    import asyncio

    import aiohttp

    async def close_code():
        origin = {"Origin": f"http://127.0.0.1:{port}"}
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"ws://127.0.0.1:{port}/ws/live/", headers=origin) as ws:
                await ws.receive(timeout=10)
                return ws.close_code

    return asyncio.run(close_code())
