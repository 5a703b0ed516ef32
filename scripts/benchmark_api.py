"""Benchmark: the tenant API and outgoing webhooks, each against a baseline measured in the
same run.

    scripts/benchmark api             # bootstraps, then runs this
    .venv/bin/python scripts/benchmark_api.py [--concurrency 16] [--seconds 10]
        [--deliveries 1000] [--write FILE]

Web, one daphne process per server, PostgreSQL with row-level security as the application role:
- platform: ``config.asgi:application``; ``POST /api/v1/oauth/token`` (client credentials) and
  ``GET /api/v1/sessions/<id>/`` of a completed session with 200 transcript entries, timeline
  events, a video segment and a summary. API_RATE and API_TOKEN_RATE are raised: the throttles
  count every request and refuse none.
- baseline: the same settings and middleware (``benchmark_api_settings``) with bare DRF views
  (no authentication, throttle or database) answering what the platform answered (same bytes).
A separate load-generator process (aiohttp) keeps ``--concurrency`` requests in flight for
``--seconds`` per phase after a warm-up: requests/s, p50/p99, the web process's CPU per request.

Webhooks, to a local receiver (aiohttp, 204), once the web servers are stopped:
- platform: ``--deliveries`` ``session.completed`` deliveries to one endpoint, written by
  ``webhooks.services.webhook_emit`` in one transaction and queued on commit; one Celery worker
  process, ``--pool solo`` (the task runs in the process that takes it from Redis: all of its
  CPU is measured and there is no hand-over to a child, which production's prefork adds).
  Deliveries/s from the commit to the last success recorded.
- baseline: a bare httpx POST loop in one process with the same body and headers, one client
  for all; and the same with a new client per POST, as ``webhooks.sender.post`` makes one.

Then where the time goes, in this process (``benchlib.time_goes``): statements, the POST, and
each library's share under cProfile. Goal (issue #16): within 1.5x of the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform as std_platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
sys.path.insert(0, str(BASE / "scripts"))

from benchlib import (  # noqa: E402
    bench_environment,
    cpu_seconds,
    free_port,
    percentile,
    time_goes,
    wait_port,
    write_results,
)

GOAL = 1.5
TOKEN = "/api/v1/oauth/token"  # noqa: S105 - a path
FORM = "application/x-www-form-urlencoded"
TRANSCRIPT_ENTRIES = 200
spawn = multiprocessing.get_context("spawn")


# --- The baseline: bare DRF views, the URLconf of `benchmark_api_settings` -----------------------


def _baseline_urls():
    from django.urls import path
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.views import APIView

    answers = json.loads(Path(os.environ["BENCH_API_ANSWERS"]).read_text())

    class Bare(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]
        throttle_classes: list = []

        def post(self, request):
            return Response(answers["token"], headers={"Cache-Control": "no-store"})

        def get(self, request, session_id):
            return Response(answers["session"])

    return [
        path(TOKEN[1:], Bare.as_view()),
        path("api/v1/sessions/<uuid:session_id>/", Bare.as_view()),
    ]


if os.environ.get("BENCH_API_ANSWERS"):
    urlpatterns = _baseline_urls()


# --- Processes of their own: the load generator, the receiver, the POST loop ---------------------


def load(url: str, method: str, headers: dict, body: bytes | None, concurrency: int, seconds):
    """``concurrency`` requests in flight for ``seconds``: the latencies of those answered
    200, how many were not, and the time taken."""
    import aiohttp

    async def run():
        latencies, failures = [], 0
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            stop = time.perf_counter() + seconds

            async def one_connection():
                nonlocal failures
                while time.perf_counter() < stop:
                    sent = time.perf_counter()
                    async with http.request(method, url, headers=headers, data=body) as answer:
                        await answer.read()
                    if answer.status == 200:
                        latencies.append((time.perf_counter() - sent) * 1000)
                    else:
                        failures += 1

            start = time.perf_counter()
            await asyncio.gather(*(one_connection() for _ in range(concurrency)))
            return latencies, failures, time.perf_counter() - start

    return asyncio.run(run())


def receiver(port: int) -> None:
    from aiohttp import web

    async def hook(request):
        await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.add_routes([web.post("/hooks", hook)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def post_loop(url: str, body: bytes, headers: dict, count: int, fresh_client: bool) -> dict:
    """``count`` POSTs one after another, with one client, or a new one for each."""
    import httpx

    start, cpu = time.perf_counter(), time.process_time()
    client = httpx.Client(trust_env=False)
    for _ in range(count):
        if fresh_client:
            client.close()
            client = httpx.Client(trust_env=False)
        assert client.post(url, content=body, headers=headers).status_code == 204
    client.close()
    return {
        "rate": count / (time.perf_counter() - start),
        "cpu_ms": (time.process_time() - cpu) * 1000 / count,
    }


# --- Data ----------------------------------------------------------------------------------------


def prepare(receiver_url: str):
    import django

    django.setup()
    from django.utils import timezone

    from core import rls
    from tests import factories
    from tests.tenant_api.support import make_client
    from webhooks.services import endpoint_create

    tenant = factories.TenantFactory(name="Bench", slug="bench")
    now = timezone.now()
    session = factories.SessionFactory(
        tenant=tenant, status="completed", started_at=now, ended_at=now, end_reason="completed"
    )
    for seq in range(TRANSCRIPT_ENTRIES):
        factories.TranscriptEntryFactory(
            session=session,
            seq=seq,
            speaker="candidate" if seq % 2 else "assistant",
            text=f"Entry {seq}: a sentence or two of what was said, about as long as most are.",
        )
    for kind in ("status_changed", "status_changed", "status_changed", "connected"):
        factories.SessionEventFactory(session=session, kind=kind)
    factories.VideoSegmentFactory(session=session)
    factories.SummaryFactory(session=session, strengths=["Clear"], concerns=["Brief"])
    with rls.tenant_context(tenant.pk):
        endpoint = endpoint_create(
            tenant_id=tenant.pk, url=receiver_url, events=["session.completed"], actor=None
        )
    return tenant, session, make_client(tenant), endpoint


# --- Web phases ----------------------------------------------------------------------------------


def web_phases(bench, args, pool, caller, session) -> tuple[dict, dict]:
    """The platform's two answers, the baseline serving them, then load on each in turn."""
    import httpx

    platform_port, baseline_port = free_port(), free_port()
    platform = bench.daphne("config.asgi:application", platform_port)
    wait_port(platform_port)
    credentials = {"client_id": caller.client_id, "client_secret": caller.secret}
    form = urlencode({"grant_type": "client_credentials", **credentials}).encode()
    root = f"http://127.0.0.1:{platform_port}"
    token = httpx.post(root + TOKEN, content=form, headers={"Content-Type": FORM}).json()
    read_path = f"/api/v1/sessions/{session.pk}/"
    read_headers = {"Authorization": f"Bearer {token['access_token']}"}
    read = httpx.get(root + read_path, headers=read_headers)
    assert len(read.json()["transcript"]) == TRANSCRIPT_ENTRIES, read.content[:300]
    answers = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
    with answers:
        json.dump({"token": token, "session": read.json()}, answers)
    baseline = bench.daphne(
        "config.asgi:application",
        baseline_port,
        {
            **bench.env,
            "DJANGO_SETTINGS_MODULE": "benchmark_api_settings",
            "PYTHONPATH": str(BASE / "scripts"),
            "BENCH_API_ANSWERS": answers.name,
        },
    )
    wait_port(baseline_port)
    bare = httpx.get(f"http://127.0.0.1:{baseline_port}{read_path}")
    assert bare.content == read.content, "the baseline must answer the same bytes"
    os.unlink(answers.name)

    web: dict = {}
    for op, path, method, headers, body in (
        ("token exchange", TOKEN, "POST", {"Content-Type": FORM}, form),
        ("session read", read_path, "GET", read_headers, None),
    ):
        for name, server, port in (
            ("baseline", baseline, baseline_port),
            ("platform", platform, platform_port),
        ):
            request = (f"http://127.0.0.1:{port}{path}", method, headers, body)
            pool.submit(load, *request, args.concurrency, min(2.0, args.seconds / 2)).result()
            cpu = cpu_seconds(server.pid)
            took, failures, elapsed = pool.submit(
                load, *request, args.concurrency, args.seconds
            ).result()
            web.setdefault(op, {})[name] = {
                "failures": failures,
                "rate": len(took) / elapsed,
                "p50": percentile(took, 50),
                "p99": percentile(took, 99),
                "cpu_ms": (cpu_seconds(server.pid) - cpu) * 1000 / len(took),
            }
    for server in (platform, baseline):  # so that they do not share the CPUs from here
        server.terminate()
        server.wait(10)
        bench.servers.remove(server)
    return web, {"form": form, "read_path": read_path, "read_headers": read_headers}


# --- Webhook phases ------------------------------------------------------------------------------


def emit(tenant, session, count: int) -> float:
    """``count`` session.completed deliveries, queued when their transaction commits; returns
    the time just before the commit."""
    from django.db import transaction

    from core import rls
    from interviews.services.webhook_events import session_data
    from webhooks.services import webhook_emit

    with rls.tenant_context(tenant.pk), transaction.atomic():
        for _ in range(count):
            webhook_emit(
                tenant_id=tenant.pk, event_type="session.completed", data=session_data(session)
            )
        return time.time()


def wait_succeeded(endpoint, total: int, timeout: float) -> float:
    """Once ``total`` of the endpoint's deliveries succeeded: when the last was recorded."""
    from django.db.models import Count, Max

    from core import rls
    from webhooks.models import WebhookDelivery

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rls.bypass_context():
            done = WebhookDelivery.objects.filter(endpoint=endpoint, status="succeeded")
            done = done.aggregate(n=Count("pk"), last=Max("updated_at"))
        if done["n"] >= total:
            return done["last"].timestamp()
        time.sleep(0.2)
    raise RuntimeError(f"only {done['n']} of {total} deliveries succeeded in {timeout:.0f} s")


def webhook_phases(bench, args, pool, tenant, session, endpoint) -> dict:
    from django.utils import timezone

    from core import rls
    from webhooks import sender
    from webhooks.services import delivery_body
    from webhooks.signing import signed_headers

    celery = str(Path(sys.executable).parent / "celery")
    worker = bench.process([celery, "-A", "config", "--quiet", "worker", "--pool", "solo"])
    emit(tenant, session, 1)  # warm-up: the worker is up and has sent one
    wait_succeeded(endpoint, 1, 60)
    cpu = cpu_seconds(worker.pid)
    start = emit(tenant, session, args.deliveries)
    last = wait_succeeded(endpoint, args.deliveries + 1, 30 + args.deliveries)
    cpu = cpu_seconds(worker.pid) - cpu
    hooks = {
        "platform: Celery worker (solo)": {
            "rate": args.deliveries / (last - start),
            "cpu_ms": cpu * 1000 / args.deliveries,
        }
    }
    with rls.bypass_context():  # the baseline's body and headers: those of a delivery
        delivery = endpoint.deliveries.first()
    body = delivery_body(delivery)
    now = int(timezone.now().timestamp())
    headers = signed_headers(
        secret=endpoint.secret, message_id=delivery.message_id, timestamp=now, body=body
    )
    headers.update({"content-type": "application/json", "user-agent": sender.USER_AGENT})
    for label, fresh in (("one client", False), ("new client per POST", True)):
        hooks[f"baseline: httpx loop, {label}"] = pool.submit(
            post_loop, endpoint.url, body, headers, args.deliveries, fresh
        ).result()
    return hooks


# --- Where the time goes (in this process) -------------------------------------------------------


def where_the_time_goes(tenant, endpoint, form, read_path, read_headers) -> list[str]:
    from django.test import Client
    from django.utils import timezone

    from core import rls
    from webhooks import sender
    from webhooks.models import WebhookDelivery
    from webhooks.services import delivery_attempt

    client = Client(HTTP_HOST="127.0.0.1")
    reader = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=read_headers["Authorization"])
    times = [
        ("token exchange", time_goes(lambda: client.post(TOKEN, form, FORM), 50)),
        ("session read", time_goes(lambda: reader.get(read_path), 50)),
    ]
    copies = []  # of one sent delivery, due again: each call makes a real attempt
    with rls.bypass_context():
        sent = WebhookDelivery.objects.filter(endpoint=endpoint).first()
        for index in range(101):
            sent.pk, sent.status, sent.attempts = None, "pending", 0
            sent.message_id, sent.next_attempt_at = f"msg_bench{index}", timezone.now()
            sent.save(force_insert=True)
            copies.append(sent.pk)
    due, timers, post = iter(copies), {"the POST": 0.0}, sender.post

    def timed_post(*args, **kwargs):
        start = time.perf_counter()
        try:
            return post(*args, **kwargs)
        finally:
            timers["the POST"] += time.perf_counter() - start

    def attempt():
        with mock.patch.object(sender, "post", timed_post):
            outcome = delivery_attempt(delivery_id=next(due), tenant_id=tenant.pk)
        assert outcome == "succeeded", outcome

    times.append(("delivery attempt", time_goes(attempt, 50, timers)))
    return [breakdown(name, found) for name, found in times]


def breakdown(name: str, found: dict) -> str:
    parts = [f"{found['statements']:.0f} database statements {found['db_ms']:.2f} ms"]
    parts += [f"{timer} {ms:.2f} ms" for timer, ms in found["timers"].items()]
    rest = found["ms"] - found["db_ms"] - sum(found["timers"].values())
    what = ", ".join(f"{n}x {s}" if n > 1 else s for s, n in found["what"].items())
    shares = ", ".join(f"{library[:40]} {share:.0%}" for library, share in found["shares"][:5])
    return (
        f"{name}: {found['ms']:.2f} ms per call in-process: {', '.join(parts)}, the rest "
        f"{rest:.2f} ms. Statements: {what}. Own time under cProfile: {shares}"
    )


# --- Report --------------------------------------------------------------------------------------


def report(web: dict, hooks: dict, times: list[str], args) -> tuple[str, bool]:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Run {now} on {os.cpu_count()} CPU(s), Python {std_platform.python_version()}; "
        f"{args.concurrency} concurrent requests for {args.seconds:g} s per web phase; "
        f"{args.deliveries} webhook deliveries.",
        "",
        "| operation | server | requests/s | p50 (ms) | p99 (ms) | CPU per request (ms) |",
        "|---|---|---|---|---|---|",
    ]
    goals = []
    for op, servers in web.items():
        for server, r in servers.items():
            failed = f" ({r['failures']} failed)" if r["failures"] else ""
            lines.append(
                f"| {op} | {server}{failed} | {r['rate']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
                f"| {r['cpu_ms']:.2f} |"
            )
        base, plat = servers["baseline"], servers["platform"]
        slower, p50 = base["rate"] / plat["rate"], plat["p50"] / base["p50"]
        goals.append((op, slower, f"{p50:.2f}x", max(slower, p50) <= GOAL and not plat["failures"]))
    lines += ["", "| webhooks | deliveries/s | CPU per delivery (ms) |", "|---|---|---|"]
    lines += [f"| {label} | {r['rate']:.0f} | {r['cpu_ms']:.2f} |" for label, r in hooks.items()]
    slower = (
        hooks["baseline: httpx loop, one client"]["rate"]
        / hooks["platform: Celery worker (solo)"]["rate"]
    )
    goals.append(("webhook deliveries", slower, "", slower <= GOAL))
    lines += [
        "",
        f"| goal: within {GOAL}x of the baseline | baseline / platform throughput "
        "| platform / baseline p50 | |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {op} | {slower:.2f}x | {p50} | {'met' if met else 'NOT met'} |"
        for op, slower, p50, met in goals
    ]
    lines += ["", "Where the time goes:", *(f"- {line}" for line in times)]
    return "\n".join(lines), all(met for *_, met in goals)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--write", help="put the results in this Markdown file")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # its port
    args = parser.parse_args()
    if args.receiver:
        receiver(args.receiver)
        return 0

    receiver_port = free_port()
    rates = {"API_RATE": "1000000/second", "API_TOKEN_RATE": "1000000/second"}
    with bench_environment({**rates, "WEBHOOKS_ALLOW_PRIVATE": "true"}) as bench:
        bench.process([sys.executable, __file__, "--receiver", str(receiver_port)])
        wait_port(receiver_port)
        tenant, session, caller, endpoint = prepare(f"http://127.0.0.1:{receiver_port}/hooks")
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            web, requests = web_phases(bench, args, pool, caller, session)
            hooks = webhook_phases(bench, args, pool, tenant, session, endpoint)
        times = where_the_time_goes(tenant, endpoint, **requests)

    text, ok = report(web, hooks, times, args)
    print(text)
    if args.write:
        write_results(args.write, text, "api")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
