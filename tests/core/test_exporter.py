"""The exporter in multiprocess mode: what a Celery worker's forked pool processes count
reaches the main process's /metrics (PROMETHEUS_MULTIPROC_DIR), and METRICS_PORT starts it
with the settings' token."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from core import exporter

ROOT = Path(__file__).resolve().parents[2]

# A main process that forks two "pool" processes, each counting a task run, then serves.
FORKING = """
import os, sys
from core import metrics
metrics.CELERY_TASKS.labels("interviews.tasks.summarize_session", "success").inc()
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        metrics.CELERY_TASKS.labels("interviews.tasks.summarize_session", "success").inc()
        metrics.CELERY_TASKS.labels("webhooks.tasks.send_delivery", "failure").inc()
        os._exit(0)
    os.waitpid(pid, 0)
from prometheus_client import generate_latest
from core.exporter import metrics_registry
sys.stdout.write(generate_latest(metrics_registry()).decode())
"""


def test_a_forked_pools_counts_reach_the_main_processs_exporter(tmp_path):
    folder = tmp_path / "prometheus"
    result = subprocess.run(
        [sys.executable, "-c", FORKING],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert (
        'celery_tasks_total{outcome="success",task="interviews.tasks.summarize_session"} 3.0'
        in lines
    )
    assert 'celery_tasks_total{outcome="failure",task="webhooks.tasks.send_delivery"} 2.0' in lines
    assert folder.is_dir() and list(folder.glob("*.db"))  # created on first use


def test_metrics_port_starts_the_exporter_once_with_the_settings_token(settings):
    settings.METRICS_PORT = free_port()
    settings.METRICS_ADDR = "127.0.0.1"
    settings.METRICS_TOKEN = "t" * 40
    server = exporter.serve_from_settings(process="test-process")
    try:
        assert exporter.serve_from_settings(process="test-process") is server
        url = f"http://127.0.0.1:{settings.METRICS_PORT}/metrics"
        assert httpx.get(url).status_code == 401
        response = httpx.get(url, headers={"Authorization": "Bearer " + "t" * 40})
        assert response.status_code == 200 and "http_requests_total" in response.text
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_already_taken_leaves_the_process_running_without_metrics(settings, caplog):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings.METRICS_PORT = taken.getsockname()[1]
        settings.METRICS_ADDR = "127.0.0.1"
        assert exporter.serve_from_settings(process="third-process") is None
    assert "metrics not served: could not listen on the metrics port" in caplog.text


def test_without_metrics_port_nothing_is_served(settings):
    settings.METRICS_PORT = 0
    assert exporter.serve_from_settings(process="another-process") is None


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
