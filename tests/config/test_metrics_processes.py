"""The processes as Fly runs them, each serving its metrics on METRICS_PORT: daphne (the web
group) and a Celery worker with a prefork pool (whose forked processes count the tasks they
run, summed through PROMETHEUS_MULTIPROC_DIR)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "m" * 40


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running(command: list[str], **env):
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def wait_for(get, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = get()
            if result:
                return result
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def samples(url: str) -> dict:
    response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    response.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def metrics_env(port: int, **extra) -> dict:
    return {
        "METRICS_PORT": str(port),
        "METRICS_ADDR": "127.0.0.1",
        "METRICS_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.mark.django_db(transaction=True)
def test_daphne_serves_metrics_on_its_own_port_and_not_on_the_web_port():
    web, metrics = free_port(), free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(web)]
    with running([*command, "config.asgi:application"], **metrics_env(metrics)) as daphne:
        base = f"http://127.0.0.1:{web}"
        wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        assert httpx.get(f"{base}/metrics").status_code == 404
        url = f"http://127.0.0.1:{metrics}/metrics"
        assert httpx.get(url).status_code == 401
        seen = samples(url)
        assert daphne.poll() is None, daphne.stderr.read()

    healthz = (
        "http_requests_total",
        (("method", "GET"), ("route", "/healthz"), ("status_class", "2xx")),
    )
    unmatched = (
        "http_requests_total",
        (("method", "GET"), ("route", "unmatched"), ("status_class", "4xx")),
    )
    assert seen[healthz] >= 1 and seen[unmatched] == 1
    assert ("interview_sessions_in_progress", (("status", "live"),)) in seen


@pytest.mark.celery_worker_test
@pytest.mark.django_db(transaction=True)
def test_a_celery_workers_pool_processes_are_counted_by_its_exporter(tmp_path):
    metrics = free_port()
    folder = tmp_path / "prometheus"
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"]
    app.control.purge()
    env = metrics_env(metrics, PROMETHEUS_MULTIPROC_DIR=str(folder))
    with running([*command, "--concurrency", "2", "--loglevel", "WARNING"], **env) as worker:
        url = f"http://127.0.0.1:{metrics}/metrics"
        wait_for(lambda: samples(url) is not None)
        name = "webhooks.tasks.send_due_deliveries"
        for _ in range(3):
            app.send_task(name)
        key = ("celery_tasks_total", (("outcome", "success"), ("task", name)))
        assert wait_for(lambda: samples(url).get(key, 0) >= 3) and worker.poll() is None
    # Written by the pool's processes, not the main one (which runs no task).
    assert len(list(folder.glob("counter_*.db"))) >= 1
    assert samples_pids(folder) - {str(worker.pid)}


def samples_pids(folder: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}
