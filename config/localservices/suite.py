"""The ``test`` command: lint, the import contracts, the migrations check and the pytest
suite, against a fresh database on real PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .base import BASE_DIR, BIN, PYTHON, manage, say
from .servers import (
    drop_database,
    embedded_postgres,
    embedded_redis,
    provision_database,
    stop_embedded,
    system_postgres,
    system_redis,
)


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
        if not env.get("SKIP_LINT"):
            # Operations unsafe on a live database (config/settings_migrations.py).
            say("lintmigrations")
            lint_env = {**env, "LOG_LEVEL": "WARNING"}
            if manage("lintmigrations", "--quiet", "ok", "ignore", env=lint_env, check=False):
                return 1
        say("pytest")
        return subprocess.run([PYTHON, "-m", "pytest", *argv], cwd=BASE_DIR, env=env).returncode
    finally:
        drop_database(admin_url, dbname)
        for handle in keep:
            stop_embedded(handle)
