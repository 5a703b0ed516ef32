"""Benchmark: how many live calls one realtime worker process follows.

    scripts/benchmark realtime        # bootstraps, then runs this
    .venv/bin/python scripts/benchmark_realtime.py [--calls 100,500,1000] [--seconds 30]
        [--takeover-calls 200] [--write FILE]

A database of its own on the machine's PostgreSQL (benchlib.bench_environment), a load fake
of OpenAI's sideband (devtools.loadfake, its own process) and ONE ``manage.py realtime_worker``
process pointed at the fake with OPENAI_BASE_URL. For each N, N sessions are made live with
the fake's call ids; once the worker has attached to all of them and a warm-up has passed,
for ``--seconds``:

- CPU of the worker process (/proc), as a share of one core;
- memory per call: the worker's RSS growth over the idle worker (before any call), / N;
- event-sent -> row-committed latency: the fake stamps each transcript event as it sends it;
  an AFTER INSERT trigger on the transcript table, in this benchmark's database only, does
  pg_notify with the entry's item id, and notifications are delivered at commit, so this
  process, LISTENing, stamps the commit;
- database connections the worker holds (pg_stat_activity, by the worker's client ports).

Then two workers share calls: never two followers of one call at once (the fake records every
attachment), and after one is killed (SIGKILL) how long until the other follows its calls.

Goals (issue #17): 1,000 calls on one worker, <= 0.3 MB per call, p99 <= 50 ms, connections
bounded by a setting (REALTIME_DB_CONNECTIONS), not one per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as std_platform
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
sys.path.insert(0, str(BASE / "scripts"))

from benchlib import (  # noqa: E402
    bench_environment,
    cpu_seconds,
    free_port,
    percentile,
    rss_kb,
    wait_port,
    write_results,
)

NOTIFY_CHANNEL = "bench_transcript"
WARM_UP_SECONDS = 8
IDLE_SECONDS = 4


# --- The database: sessions, the commit-time trigger --------------------------------------------


def prepare():
    """Django in this process, a tenant with a template (one rubric criterion) and the
    trigger that reports each transcript entry's commit."""
    import django

    django.setup()
    import psycopg

    from interviews.models import TranscriptEntry
    from tests.factories import CriterionFactory, SessionFactory, TemplateFactory, TenantFactory

    tenant = TenantFactory(name="Bench", slug="bench")
    template = TemplateFactory(tenant=tenant, max_duration_minutes=120)
    CriterionFactory(template=template, tenant=tenant, name="Debugging")
    from core import rls

    with rls.bypass_context():
        first = SessionFactory(tenant=tenant, template=template, status="completed")
    table = TranscriptEntry._meta.db_table
    with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as owner:
        owner.execute(
            "CREATE FUNCTION bench_transcript_notify() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', NEW.provider_item_id); RETURN NEW; "
            "END $$"
        )
        owner.execute(
            f"CREATE TRIGGER bench_transcript_notify AFTER INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION bench_transcript_notify()"
        )
    return first


def make_live(first, call_ids: list[str]) -> None:
    """Sessions on calls ``call_ids``, live, their browsers connected; then the worker is
    told (as the SDP proxy tells it of a new call)."""
    from django.db import connection
    from django.utils import timezone

    from core import rls
    from interviews.models import InterviewSession
    from live.worker import ATTACH_CHANNEL

    now = timezone.now()
    with rls.bypass_context():
        InterviewSession.objects.bulk_create(
            [
                InterviewSession(
                    tenant_id=first.tenant_id,
                    template_id=first.template_id,
                    candidate_id=first.candidate_id,
                    consent=first.consent,
                    status="live",
                    started_at=now,
                    provider_call_id=call_id,
                    connection_state="connected",
                )
                for call_id in call_ids
            ],
            batch_size=500,
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [ATTACH_CHANNEL])


def end_all() -> None:
    from core import rls
    from interviews.models import InterviewSession

    with rls.bypass_context():
        InterviewSession.objects.filter(status="live").update(status="completed")


def worker_connections(pid: int) -> int:
    """Database connections of process ``pid`` (pg_stat_activity, matched by client port)."""
    import psutil
    from django.db import connection

    ports = [
        c.laddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == 5432
    ]
    if not ports:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND client_port = ANY(%s)",
            [ports],
        )
        return cursor.fetchone()[0]


# --- The load fake -------------------------------------------------------------------------------


def fake_call(port: int, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST" if data else "GET",
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (local)
        return json.loads(response.read())


def open_attachments(report: dict) -> dict[str, list]:
    """Each call's attachments still open."""
    return {
        call_id: [a for a in call["attachments"] if a[1] is None]
        for call_id, call in report["calls"].items()
    }


def overlapping(report: dict) -> int:
    """Calls that at some moment had two followers attached at once."""
    count = 0
    for call in report["calls"].values():
        spans = sorted((a[0], a[1] or float("inf")) for a in call["attachments"])
        ends = float("-inf")  # the latest end of the spans before this one
        for opened, closed in spans:
            if opened < ends:
                count += 1
                break
            ends = max(ends, closed)
    return count


# --- One run ------------------------------------------------------------------------------------


class Run:
    def __init__(self, bench, first, args):
        self.bench, self.first, self.args = bench, first, args
        self.committed: dict[str, float] = {}  # item id -> when its row's commit was heard
        self.phase = 0

    def start_fake(self) -> tuple[subprocess.Popen, int]:
        port = free_port()
        fake = self.bench.process(
            [
                sys.executable,
                "-m",
                "devtools.loadfake",
                "--port",
                str(port),
                "--turn-seconds",
                str(self.args.turn_seconds),
            ]
        )
        wait_port(port)
        return fake, port

    def start_worker(self, fake_port: int, **extra) -> subprocess.Popen:
        env = {
            **self.bench.env,
            **extra,
            "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
            "OPENAI_API_KEY": "sk-load-fake",
            "LOG_LEVEL": "WARNING",
        }
        return self.bench.process([sys.executable, "manage.py", "realtime_worker"], env)

    def stop(self, process: subprocess.Popen, sig=signal.SIGTERM) -> None:
        process.send_signal(sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    async def listen(self, ready: asyncio.Event) -> None:
        import psycopg

        async with await psycopg.AsyncConnection.connect(
            os.environ["DATABASE_OWNER_URL"], autocommit=True
        ) as connection:
            await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            ready.set()
            async for notify in connection.notifies():
                self.committed[notify.payload] = time.time()

    async def wait_attached(self, port: int, call_ids: list[str], timeout: float) -> float:
        """Seconds until every call has an open sideband."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            report = await asyncio.to_thread(fake_call, port, "/load/report")
            attached = open_attachments(report)
            if all(attached.get(c) for c in call_ids):
                return time.monotonic() - start
            await asyncio.sleep(0.5)
        missing = sum(1 for c in call_ids if not attached.get(c))
        raise RuntimeError(f"{missing} of {len(call_ids)} calls never attached")

    async def capacity(self, n: int) -> dict:
        """One worker, N calls."""
        self.phase += 1
        ids = [f"rtc_load{self.phase}x{i:05d}" for i in range(n)]
        fake, port = self.start_fake()
        await asyncio.to_thread(fake_call, port, "/load/calls", {"ids": ids})
        worker = self.start_worker(port)
        await asyncio.sleep(IDLE_SECONDS)  # imports done, listening, nothing to follow
        idle_rss = rss_kb(worker.pid)
        idle_connections = await asyncio.to_thread(worker_connections, worker.pid)
        await asyncio.to_thread(make_live, self.first, ids)
        attach_seconds = await self.wait_attached(port, ids, timeout=120 + n / 10)
        await asyncio.sleep(WARM_UP_SECONDS)
        window_start, cpu_start = time.time(), cpu_seconds(worker.pid)
        fake_cpu_start = cpu_seconds(fake.pid)
        connections = []
        while time.time() - window_start < self.args.seconds:
            connections.append(await asyncio.to_thread(worker_connections, worker.pid))
            await asyncio.sleep(1)
        elapsed = time.time() - window_start
        cpu = (cpu_seconds(worker.pid) - cpu_start) / elapsed
        fake_cpu = (cpu_seconds(fake.pid) - fake_cpu_start) / elapsed
        rss = rss_kb(worker.pid)
        await asyncio.sleep(3)  # the last events of the window reach the database
        report = await asyncio.to_thread(fake_call, port, "/load/report")
        stamps = {
            item: sent
            for item, sent in report["stamps"].items()
            if window_start <= sent <= window_start + elapsed
        }
        latencies = [
            (self.committed[item] - sent) * 1000
            for item, sent in stamps.items()
            if item in self.committed
        ]
        self.stop(worker)
        self.stop(fake)
        await asyncio.to_thread(end_all)
        return {
            "n": n,
            "attach_s": attach_seconds,
            "cpu": cpu,
            "fake_cpu": fake_cpu,
            "idle_mb": idle_rss / 1024,
            "mb_per_call": (rss - idle_rss) / 1024 / n,
            "sent": len(stamps),
            "written": len(latencies),
            "rate": len(stamps) / elapsed,
            "p50": percentile(latencies, 50) if latencies else float("nan"),
            "p99": percentile(latencies, 99) if latencies else float("nan"),
            "max": max(latencies) if latencies else float("nan"),
            "connections": max(connections),
            "idle_connections": idle_connections,
            "received": report["received"],
            "errors": report["errors"],
        }

    async def takeover(self, n: int, ttl: float) -> dict:
        """Two workers share N calls (their locks lapsing ``ttl`` s after the holder dies);
        one is killed."""
        import psutil

        self.phase += 1
        ids = [f"rtc_load{self.phase}x{i:05d}" for i in range(n)]
        fake, port = self.start_fake()
        await asyncio.to_thread(fake_call, port, "/load/calls", {"ids": ids})
        lock = {"REALTIME_LOCK_TTL_SECONDS": str(ttl)}
        workers = [self.start_worker(port, **lock), self.start_worker(port, **lock)]
        await asyncio.sleep(IDLE_SECONDS)
        await asyncio.to_thread(make_live, self.first, ids)
        await self.wait_attached(port, ids, timeout=120)
        await asyncio.sleep(WARM_UP_SECONDS)

        def calls_of(pid: int, report: dict) -> set[str]:
            ports = {c.laddr.port for c in psutil.Process(pid).net_connections(kind="tcp")}
            return {
                call_id
                for call_id, spans in open_attachments(report).items()
                if any(span[2] in ports for span in spans)
            }

        report = await asyncio.to_thread(fake_call, port, "/load/report")
        shares = [calls_of(w.pid, report) for w in workers]
        victim = 0 if len(shares[0]) >= len(shares[1]) else 1
        orphans = shares[victim]
        killed_at = time.time()
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait()
        taken: dict[str, float] = {}
        while len(taken) < len(orphans) and time.time() - killed_at < 120:
            await asyncio.sleep(0.2)
            report = await asyncio.to_thread(fake_call, port, "/load/report")
            for call_id in orphans - taken.keys():
                later = [a[0] for a in report["calls"][call_id]["attachments"] if a[0] > killed_at]
                if later:
                    taken[call_id] = min(later) - killed_at
        await asyncio.sleep(2)
        report = await asyncio.to_thread(fake_call, port, "/load/report")
        survivor = workers[1 - victim]
        result = {
            "n": n,
            "ttl": ttl,
            "shares": [len(s) for s in shares],
            "orphans": len(orphans),
            "taken": len(taken),
            "p50": percentile(list(taken.values()), 50) if taken else float("nan"),
            "max": max(taken.values()) if taken else float("nan"),
            "overlaps": overlapping(report),
            "survivor_follows": len(calls_of(survivor.pid, report)),
        }
        self.stop(survivor)
        self.stop(fake)
        await asyncio.to_thread(end_all)
        return result

    async def main(self) -> tuple[list[dict], dict | None]:
        ready = asyncio.Event()
        listener = asyncio.ensure_future(self.listen(ready))
        await asyncio.wait_for(ready.wait(), 10)
        results = []
        for n in self.args.calls:
            results.append(await self.capacity(n))
            print(json.dumps(results[-1], default=str), flush=True)
        takeovers = []
        for ttl in self.args.lock_ttl if self.args.takeover_calls else []:
            takeovers.append(await self.takeover(self.args.takeover_calls, ttl))
            print(json.dumps(takeovers[-1]), flush=True)
        listener.cancel()
        return results, takeovers


# --- Report --------------------------------------------------------------------------------------


def report(results: list[dict], takeovers: list[dict], args) -> tuple[str, bool]:
    from django.conf import settings

    def mark(ok: bool) -> str:
        return "met" if ok else "**not met**"

    db_setting = getattr(settings, "REALTIME_DB_CONNECTIONS", None)
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {std_platform.machine()}, "
        f"{os.cpu_count()} CPUs (shared with other work: figures are noisy), Python "
        f"{std_platform.python_version()}; one `manage.py realtime_worker` process; load fake "
        f"turn every {args.turn_seconds:g} s per call (two transcript events per turn, an "
        f"assessment every third turn); measured over {args.seconds} s after all calls "
        f"attached and {WARM_UP_SECONDS} s of warm-up; REALTIME_DB_CONNECTIONS = {db_setting}.",
        "",
        "| calls | attach all (s) | worker CPU (cores) | fake CPU | MB per call (goal <= 0.3)"
        " | entries/s | written | p50 ms | p99 ms (goal <= 50) | DB connections (idle) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    ok = True
    for r in results:
        mem_ok = r["mb_per_call"] <= 0.3
        p99_ok = r["p99"] <= 50
        all_written = r["written"] == r["sent"]
        ok = ok and mem_ok and p99_ok and all_written
        lines.append(
            f"| {r['n']} | {r['attach_s']:.1f} | {r['cpu']:.2f} | {r['fake_cpu']:.2f} "
            f"| {r['mb_per_call']:.3f} ({mark(mem_ok)}) | {r['rate']:.0f} "
            f"| {r['written']}/{r['sent']} | {r['p50']:.1f} | {r['p99']:.1f} ({mark(p99_ok)}) "
            f"| {r['connections']} ({r['idle_connections']}) |"
        )
    errors = {code: n for r in results for code, n in r["errors"].items()}
    lines += [
        "",
        f"Idle worker RSS: {results[0]['idle_mb']:.0f} MB. Errors the fake sent back to the "
        f"followers: {errors or 'none'}.",
    ]
    for t in takeovers:
        took_ok = t["taken"] == t["orphans"] and t["overlaps"] == 0
        ok = ok and took_ok
        lines += [
            "",
            f"Two workers sharing {t['n']} calls (split {t['shares'][0]} / {t['shares'][1]}): "
            f"calls ever followed by two workers at once: {t['overlaps']}. The worker "
            f"following {t['orphans']} calls was killed (SIGKILL); the other followed "
            f"{t['taken']} of them again after p50 {t['p50']:.1f} s, the last after "
            f"{t['max']:.1f} s (REALTIME_LOCK_TTL_SECONDS = {t['ttl']:g}; a scan every 2 s), and "
            f"then followed {t['survivor_follows']} calls ({mark(took_ok)}).",
        ]
    return "\n".join(lines), ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--calls", type=lambda v: [int(x) for x in v.split(",")], default=[100, 500, 1000]
    )
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--turn-seconds", type=float, default=6.0)
    parser.add_argument("--takeover-calls", type=int, default=200, help="0: skip")
    parser.add_argument(
        "--lock-ttl",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[6.0, 15.0],
        help="REALTIME_LOCK_TTL_SECONDS of the two workers, one takeover per value",
    )
    parser.add_argument("--redis-url", help="default: the machine's Redis, database 10")
    parser.add_argument("--write", help="put the results in this Markdown file")
    args = parser.parse_args()

    extra = {"REDIS_URL": args.redis_url} if args.redis_url else {}
    with bench_environment(extra) as bench:
        first = prepare()
        results, takeovers = asyncio.run(Run(bench, first, args).main())
        text, ok = report(results, takeovers, args)
    print(text)
    if args.write:
        write_results(args.write, text, "realtime")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
