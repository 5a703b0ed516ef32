"""The web process's metrics exporter (core.exporter) with the one figure read from the
database when scraped: the interviews in progress across every tenant. Only the web group
reports it - one group's machines are enough, and each query at scrape time costs the
database something. See docs/observability.md."""

from __future__ import annotations

import logging

from django.db import connections
from prometheus_client.core import GaugeMetricFamily

from core import exporter
from interviews import selectors

logger = logging.getLogger(__name__)


class SessionsInProgressCollector:
    """The sessions connecting or live right now across every tenant, counted in the database
    when the metrics are read, so the figure is right whichever process changed them."""

    def collect(self):
        try:
            counts = selectors.sessions_in_progress()
        except Exception:  # the database away: leave the gauge out rather than fail the scrape
            logger.warning("metrics: could not count the sessions in progress")
            return
        finally:
            # A scrape runs on a thread of its own: its connection goes with it.
            connections.close_all()
        family = GaugeMetricFamily(
            "interview_sessions_in_progress",
            "Interview sessions connecting or live right now, across every tenant.",
            labels=["status"],
        )
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family


def serve_web():
    """Start the web process's exporter (if METRICS_PORT is set)."""
    return exporter.serve_from_settings(process="web", extra=[SessionsInProgressCollector()])
