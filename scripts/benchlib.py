"""What the benchmark scripts share: a fresh database and Redis as in production, daphne
processes, measuring helpers, and writing a results block into docs/benchmarks.md."""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of every CPU of the machine so far (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def time_goes(run, count: int, timers: dict | None = None) -> dict:
    """Where the time of ``run`` (Django code, in this process) goes: per call (ms), its
    database statements (how many, how long, and what: ``SELECT table`` counted), what ``run``
    adds to ``timers`` (seconds by name, per call in ms), then under cProfile each library's
    share of the functions' own time, largest first."""
    timers = timers if timers is not None else {}
    from django.db import connection

    db = {"n": 0, "s": 0.0, "what": Counter(), "listing": True}

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db["n"] += 1
            db["s"] += time.perf_counter() - start
            if db["listing"]:
                db["what"][_statement(sql)] += 1

    with connection.execute_wrapper(wrapper):
        run()  # warm-up, and the statements of one call
        db.update(n=0, s=0.0, listing=False)
        timers.update(dict.fromkeys(timers, 0.0))
        start = time.perf_counter()
        for _ in range(count):
            run()
        total = time.perf_counter() - start
    spent = {name: seconds * 1000 / count for name, seconds in timers.items()}
    profile = cProfile.Profile()
    profile.runcall(lambda: [run() for _ in range(count)])
    own = Counter()
    for (file, _, func), (_, _, seconds, *_) in pstats.Stats(profile).stats.items():
        own[_library(file, func)] += seconds
    return {
        "ms": total * 1000 / count,
        "statements": db["n"] / count,
        "db_ms": db["s"] * 1000 / count,
        "what": db["what"],
        "timers": spent,
        "shares": [(name, seconds / sum(own.values())) for name, seconds in own.most_common()],
    }


def _statement(sql: str) -> str:
    """``SELECT tenants_tenant``, ``UPDATE webhooks_webhookdelivery``, ``SELECT set_config``."""
    words = sql.replace("(", " ").split()
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in words[:-1]:
            return f"{words[0]} " + words[words.index(keyword) + 1].strip('"')
    return " ".join(words[:2])


def _library(file: str, func: str) -> str:
    """Whose a function is: a library, a package of the platform, or (C functions) its name."""
    if file == "~":
        return func.strip("<>").replace("method ", "").replace("built-in ", "")
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0]
    if file.startswith(str(BASE)):
        return file[len(str(BASE)) + 1 :].split("/", 1)[0]
    return "python"


def write_results(path: str, text: str, name: str) -> None:
    """Replace the ``name`` results block of ``path`` (between its markers), or append one."""
    start, end = f"<!-- {name}-results:start -->", f"<!-- {name}-results:end -->"
    block = f"{start}\n{text}\n{end}"
    document = Path(path).read_text() if Path(path).exists() else ""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(document):
        document = pattern.sub(lambda _: block, document)
    else:
        document = document.rstrip("\n") + "\n\n" + block + "\n"
    Path(path).write_text(document)


class Bench:
    """The environment of one benchmark run: ``env`` for its processes and the daphne
    servers and other processes it started (stopped when the run ends)."""

    def __init__(self, env: dict, log):
        self.env = env
        self.log = log
        self.servers: list[subprocess.Popen] = []

    def daphne(self, app: str, port: int, env: dict | None = None) -> subprocess.Popen:
        # The listen backlog as in production (fly.toml): a burst must not overflow it.
        return self.process(
            [
                str(Path(sys.executable).parent / "daphne"),
                "--verbosity",
                "0",
                "-e",
                f"tcp:port={port}:interface=127.0.0.1:backlog=1024",
                app,
            ],
            env,
        )

    def daphne_group(
        self, app: str, port: int, processes: int, env: dict | None = None
    ) -> list[subprocess.Popen]:
        """``processes`` daphne processes serving ``app`` on one port. Each gets a listening
        socket of its own (backlog 1024), bound here with SO_REUSEPORT and handed over with
        daphne's ``--fd``: the kernel spreads new connections across the sockets evenly. (One
        socket shared by all is not spread: Twisted accepts up to a hundred connections per
        wake-up, so the first process awake takes most of a burst.)"""
        daphne = str(Path(sys.executable).parent / "daphne")
        started = []
        for _ in range(processes):
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(1024)
            listener.set_inheritable(True)
            fd = listener.fileno()
            try:
                started.append(
                    self.process(
                        [daphne, "--verbosity", "0", "--fd", str(fd), app], env, pass_fds=(fd,)
                    )
                )
            finally:
                listener.close()  # the process holds its own copy
        return started

    def process(
        self, command: list[str], env: dict | None = None, pass_fds: tuple = ()
    ) -> subprocess.Popen:
        """Start any process of the run (a worker, a local stand-in for a provider); its
        output goes to the run's log and it is stopped with the others."""
        server = subprocess.Popen(
            command,
            cwd=BASE,
            env=env or self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
        )
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@contextlib.contextmanager
def bench_environment(extra_env: dict | None = None) -> Iterator[Bench]:
    """A fresh database (migrated, as the application role) on the machine's PostgreSQL, or an
    embedded one, and Redis likewise; the process's environment points at them. Everything is
    dropped or stopped at the end; the servers' output is shown if the run fails."""
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
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "DATABASE_URL": app_url,
        "DATABASE_OWNER_URL": owner_url,
        "REDIS_URL": redis_url,
        **(extra_env or {}),
    }
    os.environ.update(env)
    with tempfile.TemporaryFile("w+") as log:
        bench = Bench(env, log)
        try:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
                cwd=BASE,
                env=env,
                check=True,
            )
            yield bench
        except Exception:
            log.flush()
            log.seek(0)
            print(log.read()[-4000:], file=sys.stderr)
            raise
        finally:
            bench.stop()
            from django.db import connections

            connections.close_all()
            localservices.drop_database(admin_url, dbname)
            for handle in keep:
                localservices.stop_embedded(handle)
