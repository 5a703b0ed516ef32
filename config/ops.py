"""Health endpoints for the platform's checks and for operators."""

import logging

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import rls
from core.maintenance import maintenance_current

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return {"ok": False, "problems": [f"{len(pending)} migrations not applied"]}
    problems = rls.wall_problems()
    return {"ok": not problems, "problems": problems}


def _check_redis() -> dict:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {"ok": True}


@never_cache
@require_GET
def readyz(request):
    """Ready for traffic: database reachable and migrated, Redis reachable when configured;
    ``"status": "maintenance"`` (still 200) while maintenance mode is on."""
    checks = {}
    for name, check, enabled in (
        ("database", _check_database, True),
        ("redis", _check_redis, bool(settings.REDIS_URL)),
    ):
        if not enabled:
            continue
        try:
            checks[name] = check()
        except Exception as exc:  # any failure means "not ready", reported by type only
            logger.warning("readiness check failed", extra={"check": name, "error": repr(exc)})
            checks[name] = {"ok": False, "problems": [type(exc).__name__]}
    ready = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if checks["database"]["ok"]:
        maintenance = maintenance_current()
        if maintenance is not None:
            # Still 200: the process can serve (the console, the live interviews), and a 503
            # would have the platform's proxy take every web machine out of service.
            body["status"] = "maintenance"
            body["maintenance"] = {
                "since": maintenance.since.isoformat() if maintenance.since else None,
                "retry_after_seconds": maintenance.retry_after_seconds,
            }
    return JsonResponse(body, status=200 if ready else 503)
