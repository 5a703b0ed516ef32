"""``manage.py realtime_worker``: the process keeps what it loaded at start out of the garbage
collector's full passes (they paused every call's work on a busy worker)."""

import gc

from django.core.management import call_command

from live.worker import RealtimeWorker


def test_what_the_worker_loaded_is_kept_out_of_full_collections(monkeypatch):
    frozen = []

    async def run(self, stop=None):
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr(RealtimeWorker, "run", run)
    try:
        call_command("realtime_worker")
    finally:
        gc.unfreeze()
    assert frozen and frozen[0] > 10_000  # Django and the apps, at least


def test_with_metrics_port_set_the_worker_serves_its_metrics(monkeypatch, settings):
    import socket

    import httpx

    from core import exporter

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.METRICS_PORT, settings.METRICS_ADDR, settings.METRICS_TOKEN = port, "127.0.0.1", ""
    scraped = []

    async def run(self, stop=None):
        scraped.append(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5))

    monkeypatch.setattr(RealtimeWorker, "run", run)
    try:
        call_command("realtime_worker")
    finally:
        gc.unfreeze()
        server = exporter._serving.pop("realtime", None)  # one exporter per process: let go
        if server is not None:
            server.shutdown()
            server.server_close()
    [response] = scraped
    assert response.status_code == 200 and "sideband_attaches_total" in response.text
