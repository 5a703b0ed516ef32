"""Serving the operators' metrics (core.metrics): each process - daphne, the Celery worker,
the realtime worker - on a port of its own (METRICS_PORT), never on the public web port.

On Fly every process group runs on machines of its own, so one port number serves every
group and Fly's Prometheus scrapes each machine there (``[[metrics]]`` in fly.toml); no Fly
service exposes that port, so it is reachable only on the organisation's private network.
METRICS_TOKEN, when set, also asks every scrape for ``Authorization: Bearer <token>``.
See docs/observability.md.
"""

from __future__ import annotations

import hmac
import logging
import os
import socket
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app, multiprocess

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
_serving: dict[str, WSGIServer] = {}
_lock = threading.Lock()


class _Together:
    """Several collectors read as one, none of them registered in the global registry (a
    collector that asks the database would otherwise run wherever the registry is read)."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def metrics_registry(*, extra=()) -> CollectorRegistry:
    """What this process serves: its own metrics, or in multiprocess mode
    (PROMETHEUS_MULTIPROC_DIR) those of every process on the machine (the Celery worker's
    pool); and the ``extra`` collectors (read at scrape time)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    own = multiprocess.MultiProcessCollector(None, path=folder) if folder else REGISTRY
    collectors = [own, *extra]
    registry = CollectorRegistry()
    registry.register(_Together(*collectors))
    return registry


def metrics_app(registry: CollectorRegistry, *, token: str = ""):
    """The WSGI application: GET /metrics, with ``Authorization: Bearer <token>`` when a
    token is set (compared in constant time); anything else is refused."""
    serve = make_wsgi_app(registry)
    expected = f"Bearer {token}".encode()

    def app(environ, start_response):
        if token:
            given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, expected):
                start_response(
                    "401 Unauthorized",
                    [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
                )
                return [b"A bearer token is required.\n"]
        if environ.get("PATH_INFO") != METRICS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not found.\n"]
        return serve(environ, start_response)

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in progress never holds up the process's exit


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # the scraper's every request is not news
        pass


def serve(*, port: int, addr: str, token: str = "", registry: CollectorRegistry) -> WSGIServer:
    """Serve ``registry`` on ``addr``:``port`` from a daemon thread; returns the server (its
    ``server_address`` has the port, when 0 asked for any free one)."""
    server_class = _IPv6Server if ":" in addr else _Server
    server = make_server(
        addr, port, metrics_app(registry, token=token), server_class, _QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    return server


def serve_from_settings(*, process: str, extra=()) -> WSGIServer | None:
    """Start this process's exporter if METRICS_PORT is set (once per process), with the
    ``extra`` collectors besides the process's own metrics."""
    if not settings.METRICS_PORT:
        return None
    with _lock:
        if process not in _serving:
            try:
                _serving[process] = serve(
                    port=settings.METRICS_PORT,
                    addr=settings.METRICS_ADDR,
                    token=settings.METRICS_TOKEN,
                    registry=metrics_registry(extra=extra),
                )
            except OSError as exc:
                # The port is taken (several processes on one machine with the same setting,
                # as under scripts/run), or the address cannot be had (no IPv6 for "::"):
                # this process goes on without its metrics.
                logger.error(
                    "metrics not served: could not listen on the metrics port",
                    extra={"group": process, "port": settings.METRICS_PORT, "error": str(exc)},
                )
                return None
            logger.info(
                "metrics served",
                extra={"group": process, "port": _serving[process].server_address[1]},
            )
        return _serving[process]
