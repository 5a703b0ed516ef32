"""The operators' Prometheus metrics: defined once here, recorded where things happen, served
by each process on its own port (config.metrics; docs/observability.md).

Labels take a few known values each - a route's pattern, never a path with ids in it; a
status class, an outcome, a task's name - so the number of series stays small whatever the
traffic. No label ever carries a tenant, a person or anything they said.

With PROMETHEUS_MULTIPROC_DIR set (the Celery worker's forked children, and every process
on Fly for uniformity) the values live in files there and the exporter sums them.
"""

from __future__ import annotations

import os

# In multiprocess mode the values are files in this folder, created as the metrics below are:
# it must exist before then, whichever process imports this first (a Celery worker does so
# before it reads the settings).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], mode=0o700, exist_ok=True)

from prometheus_client import Counter, Histogram

# Seconds: from a fast page to a provider that takes its time to answer an offer.
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# From an interview's end to its summary: seconds when all goes well, hours while the AI
# service is down and the worker keeps retrying.
_SUMMARY_BUCKETS = (5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by method, route pattern and status class.",
    ["method", "route", "status_class"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route pattern and status class.",
    ["method", "route", "status_class"],
    buckets=_LATENCY_BUCKETS,
)
SDP_OFFERS = Counter(
    "sdp_offers",
    "Candidates' SDP offers the proxy handled, by outcome.",
    ["outcome"],
)
SDP_PROVIDER_SECONDS = Histogram(
    "sdp_provider_call_duration_seconds",
    "Time the realtime provider took to answer an offer (or fail), by outcome.",
    ["outcome"],
    buckets=_LATENCY_BUCKETS,
)
SIDEBAND_ATTACHES = Counter(
    "sideband_attaches",
    "Sideband connections to live calls: a call's first or a reconnection after a drop, "
    "attached or failed.",
    ["attempt", "outcome"],
)
SIDEBAND_DROPS = Counter("sideband_drops", "Sideband connections that dropped mid-call.")
CELERY_TASKS = Counter(
    "celery_tasks",
    "Celery task runs, by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
)
SUMMARY_LATENCY_SECONDS = Histogram(
    "summary_latency_seconds",
    "From an interview's end to its AI summary being written (ready) or given up (failed).",
    ["outcome"],
    buckets=_SUMMARY_BUCKETS,
)
WEBHOOK_DELIVERIES = Counter(
    "webhook_delivery_attempts",
    "Outgoing webhook delivery attempts, by the receiver's status class (none: no answer) "
    "and what came of the delivery (succeeded, failed and retrying, dead).",
    ["status_class", "outcome"],
)


def status_class(status_code: int | None) -> str:
    """``2xx`` ... ``5xx`` for an HTTP status, ``none`` when there was no answer."""
    if status_code is None or not 100 <= status_code <= 599:
        return "none"
    return f"{status_code // 100}xx"
