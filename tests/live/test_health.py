"""The realtime worker's health endpoint (``realtime_worker --health-port``), which Fly's
machine check on the realtime group asks: 200 while its scans for live calls work, 503 when
they fail. Run as the real process, against the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.support.databases import BASE_DIR


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None  # not listening yet


@pytest.fixture
def worker():
    started = []

    def start(**env):
        port = _free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "realtime_worker",
                "--poll-seconds",
                "0.5",
                "--health-port",
                str(port),
            ],
            cwd=BASE_DIR,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return port

    yield start
    for process in started:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def _settled_status(port: int, *, want: int, seconds: float = 30) -> int | None:
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        status = _status(port)
        if status == want:
            return status
        time.sleep(0.2)
    return status


@pytest.mark.django_db  # the test database migrated (the worker reads it on its own connection)
def test_a_worker_whose_scans_work_is_healthy(worker):
    port = worker()
    assert _settled_status(port, want=200) == 200


def test_a_worker_that_cannot_use_its_database_is_not(worker):
    url = os.environ["DATABASE_URL"]
    head, _, query = url.partition("?")
    missing = (
        head.rsplit("/", 1)[0] + "/interview_test_no_such_database" + (f"?{query}" * bool(query))
    )
    port = worker(DATABASE_URL=missing)
    assert _settled_status(port, want=503) == 503
    time.sleep(1)  # and it stays so
    assert _status(port) == 503
