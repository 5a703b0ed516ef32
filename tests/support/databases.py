"""Databases of a test's own on the test command's PostgreSQL, beside the suite's database:
for what must run in processes of its own (migrate, the release command, backup and restore)
without touching the database the other tests share."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

from config.localservices.servers import drop_database, provision_database

BASE_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    app_url: str  # the application role (DATABASE_URL)
    owner_url: str  # the schema owner (DATABASE_OWNER_URL)
    admin_url: str  # a superuser on the same server

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment of a process of the platform using this database."""
        env = {**os.environ, "DATABASE_URL": self.app_url, "DATABASE_OWNER_URL": self.owner_url}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        env.update(overrides)
        return env

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env(**env),
            capture_output=True,
            text=True,
        )

    def admin(self) -> psycopg.Connection:
        """A superuser connection to this database (autocommit; superusers skip RLS)."""
        return psycopg.connect(libpq_url(self.admin_url, dbname=self.name), autocommit=True)


def libpq_url(url: str, *, dbname: str | None = None) -> str:
    url = url.replace("postgres://", "postgresql://", 1)
    if dbname is None:
        return url
    head, _, query = url.partition("?")
    return head.rsplit("/", 1)[0] + f"/{dbname}" + (f"?{query}" if query else "")


def admin_url() -> str:
    return os.environ["TEST_DATABASE_ADMIN_URL"]


@contextlib.contextmanager
def scratch_database(suffix: str):
    """A fresh, empty database owned by the owner role, dropped afterwards."""
    name = f"interview_test_{os.getpid()}_{suffix}"
    app_url, owner_url = provision_database(admin_url(), name, fresh=True)
    try:
        yield ScratchDatabase(name, app_url, owner_url, admin_url())
    finally:
        drop_database(admin_url(), name)
