"""Benchmark: the SDP proxy under daphne against a fake provider that answers after 300 ms,
compared in the same run with the provider's latency measured directly.

    scripts/benchmark            # bootstraps, then runs this
    .venv/bin/python scripts/benchmark_sdp.py [--concurrency 200] [--write docs/benchmarks.md]

Targets (docs/benchmarks.md): with 200 concurrent offers, proxy p50 <= 1.05x and p99 <= 1.3x the
direct figures; single-offer overhead p50 <= 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform as std_platform
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))

UPSTREAM_DELAY = 0.300
ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    + "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n" * 8
    + "a=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_fake_upstream(port: int) -> None:
    """The provider's /realtime/calls, answering every offer after UPSTREAM_DELAY."""
    from aiohttp import web

    counter = {"n": 0}

    async def calls(request):
        async for part in await request.multipart():
            await part.read(decode=False)
        await asyncio.sleep(UPSTREAM_DELAY)
        counter["n"] += 1
        return web.Response(
            status=201,
            text=ANSWER,
            content_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/rtc_{counter['n']:08d}"},
        )

    app = web.Application()
    app.add_routes([web.post("/v1/realtime/calls", calls)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def timed(client, method, url, **kwargs) -> float:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)
    elapsed = time.perf_counter() - started
    if response.status_code != 201:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:200]}")
    return elapsed


async def burst(make_request, concurrency: int) -> list[float]:
    return list(await asyncio.gather(*(make_request(i) for i in range(concurrency))))


async def measure(
    upstream_url: str,
    proxy_url: str,
    tokens: list[tuple[str, str]],
    concurrency: int,
    sequential: int,
    rounds: int,
) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        def direct(i):
            files = {
                "sdp": (None, OFFER.encode(), "application/sdp"),
                "session": (
                    None,
                    b'{"type": "realtime", "model": "gpt-realtime"}',
                    "application/json",
                ),
            }
            return timed(
                client,
                "POST",
                f"{upstream_url}/realtime/calls",
                files=files,
                headers={"Authorization": "Bearer bench"},
            )

        def proxied(i):
            session_id, token = tokens[i % len(tokens)]
            return timed(
                client,
                "POST",
                f"{proxy_url}/api/candidate/sessions/{session_id}/sdp/",
                content=OFFER.encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
            )

        # Warm both paths (connections, imports, caches).
        await burst(direct, 20)
        await burst(proxied, 20)

        results = {"direct": [], "proxy": [], "direct_single": [], "proxy_single": []}
        for _ in range(rounds):  # alternate, so drift affects both alike
            results["direct"] += await burst(direct, concurrency)
            results["proxy"] += await burst(proxied, concurrency)
        for i in range(sequential):
            results["direct_single"].append(await direct(i))
            results["proxy_single"].append(await proxied(i))
        return results


def prepare_database(count: int) -> list[tuple[str, str]]:
    """A tenant, a template with questions and rubric, and `count` sessions with tokens."""
    import django

    django.setup()
    from interviews.tokens import session_token_issue
    from invitations.management.commands.seed_demo import CRITERIA, QUESTIONS
    from tenants import rls
    from tests.factories import (
        CandidateFactory,
        ConsentFactory,
        CriterionFactory,
        QuestionFactory,
        SessionFactory,
        TemplateFactory,
        TenantFactory,
        UserFactory,
    )

    tenant = TenantFactory(name="Bench", slug="bench")
    template = TemplateFactory(tenant=tenant)
    for position, (text, _) in enumerate(QUESTIONS, 1):
        QuestionFactory(template=template, tenant=tenant, position=position, text=text)
    for position, (name, description, _) in enumerate(CRITERIA, 1):
        CriterionFactory(
            template=template, tenant=tenant, position=position, name=name, description=description
        )
    tokens = []
    with rls.bypass_context():
        for _ in range(count):
            user = UserFactory()
            candidate = CandidateFactory(tenant=tenant, user=user)
            consent = ConsentFactory(candidate=candidate, tenant=tenant)
            session = SessionFactory(
                tenant=tenant, candidate=candidate, template=template, consent=consent
            )
            tokens.append(
                (
                    str(session.pk),
                    session_token_issue(
                        session_id=session.pk, user_id=user.pk, tenant_id=tenant.pk
                    ),
                )
            )
    return tokens


def report(results: dict, concurrency: int, rounds: int) -> tuple[str, bool]:
    ms = {name: [v * 1000 for v in values] for name, values in results.items()}
    d50, d99 = percentile(ms["direct"], 50), percentile(ms["direct"], 99)
    p50, p99 = percentile(ms["proxy"], 50), percentile(ms["proxy"], 99)
    overhead = statistics.median(ms["proxy_single"]) - statistics.median(ms["direct_single"])
    checks = [
        ("proxy p50 / direct p50", p50 / d50, 1.05),
        ("proxy p99 / direct p99", p99 / d99, 1.30),
        ("single-offer overhead p50 (ms)", overhead, 5.0),
    ]
    ok = all(value <= target for _, value, target in checks)
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPU(s), "
        f"Python {std_platform.python_version()}; fake provider answers after "
        f"{UPSTREAM_DELAY * 1000:.0f} ms; {rounds} bursts of {concurrency} concurrent offers per "
        f"path, then {len(ms['proxy_single'])} sequential offers per path.",
        "",
        "| path | p50 (ms) | p99 (ms) |",
        "|---|---|---|",
        f"| direct to the provider, {concurrency} concurrent | {d50:.1f} | {d99:.1f} |",
        f"| through the SDP proxy (daphne), {concurrency} concurrent | {p50:.1f} | {p99:.1f} |",
        f"| direct, one at a time | {statistics.median(ms['direct_single']):.1f} | "
        f"{percentile(ms['direct_single'], 99):.1f} |",
        f"| proxy, one at a time | {statistics.median(ms['proxy_single']):.1f} | "
        f"{percentile(ms['proxy_single'], 99):.1f} |",
        "",
        "| figure | measured | target | |",
        "|---|---|---|---|",
        *[
            f"| {name} | {value:.2f} | <= {target:.2f} | {'met' if value <= target else 'NOT met'}"
            for name, value, target in checks
        ],
    ]
    return "\n".join(lines), ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--write", help="append the results to this Markdown file")
    args = parser.parse_args()

    from config import localservices

    admin_url = os.environ.get("TEST_DATABASE_ADMIN_URL") or localservices.system_postgres()
    keep = []
    if not admin_url:
        admin_url, server = localservices.embedded_postgres("pg-bench")
        keep.append(server)
    redis_url = localservices.system_redis(db=10)
    if not redis_url:
        redis_url, server = localservices.embedded_redis("redis-bench")
        keep.append(server)
    dbname = f"interview_bench_{os.getpid()}"
    app_url, owner_url = localservices.provision_database(admin_url, dbname, fresh=True)
    upstream_port, proxy_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "DATABASE_URL": app_url,
        "DATABASE_OWNER_URL": owner_url,
        "REDIS_URL": redis_url,
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    upstream = multiprocessing.Process(target=run_fake_upstream, args=(upstream_port,), daemon=True)
    daphne = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=BASE,
            env=env,
            check=True,
        )
        tokens = prepare_database(args.concurrency)
        upstream.start()
        daphne = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "daphne"),
                "--verbosity",
                "0",
                "-b",
                "127.0.0.1",
                "-p",
                str(proxy_port),
                "config.asgi:application",
            ],
            cwd=BASE,
            env=env,
        )
        wait_port(upstream_port)
        wait_port(proxy_port)
        results = asyncio.run(
            measure(
                f"http://127.0.0.1:{upstream_port}/v1",
                f"http://127.0.0.1:{proxy_port}",
                tokens,
                args.concurrency,
                args.sequential,
                args.rounds,
            )
        )
    finally:
        if daphne is not None:
            daphne.terminate()
            daphne.wait(10)
        if upstream.is_alive():
            upstream.terminate()
        from django.db import connections

        connections.close_all()
        localservices.drop_database(admin_url, dbname)
        for handle in keep:
            localservices._stop(handle)

    text, ok = report(results, args.concurrency, args.rounds)
    print(text)
    if args.write:
        with open(args.write, "a") as out:
            out.write("\n" + text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
