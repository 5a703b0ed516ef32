"""The faults, one per run: what each does to the platform. When it strikes is the run's
choice (``run.py``): at a random moment inside the interview, or - for the Celery worker -
while the summary is being written."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .platform import Platform

REDIS_DOWN_SECONDS = 30


def _kill_and_restart(name: str) -> Callable[[Platform], None]:
    def fault(platform: Platform) -> None:
        platform.kill(name)
        platform.spawn(name)
        if name == "web":
            platform.wait_web(60)

    return fault


def _redis_restart(platform: Platform) -> None:
    platform.redis.restart()


def _redis_down(platform: Platform) -> None:
    platform.redis.stop()
    time.sleep(REDIS_DOWN_SECONDS)
    platform.redis.start()


def _postgres_restart(platform: Platform) -> None:
    platform.postgres.restart()


@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    strike: Callable[[Platform], None]
    during_summary: bool = False  # strikes while the summary is written, not in the interview


FAULTS = {
    fault.name: fault
    for fault in (
        Fault(
            "realtime-kill",
            "kill -9 of the realtime worker, then restart",
            _kill_and_restart("realtime"),
        ),
        Fault(
            "web-kill",
            "kill -9 of the web process (daphne), then restart",
            _kill_and_restart("web"),
        ),
        Fault("redis-restart", "Redis restart", _redis_restart),
        Fault("redis-down", f"Redis down for {REDIS_DOWN_SECONDS} s", _redis_down),
        Fault("postgres-restart", "PostgreSQL restart (the run's own cluster)", _postgres_restart),
        Fault(
            "worker-kill",
            "kill -9 of the Celery worker while it writes the summary, then restart",
            _kill_and_restart("worker"),
            during_summary=True,
        ),
    )
}
