"""A circuit breaker shared by every worker process through the cache (Redis).

Closed: calls go through. After ``threshold`` failures in a row (from any worker) it opens:
nobody calls the service for ``cooldown`` seconds, and callers are told how long to wait.
Then it is half-open: one caller at a time is let through as a probe (the others keep
waiting); a success closes it, a failure opens it again for another cool-down.

The state is three cache keys, each changed with one atomic Redis command (``add`` is SET NX,
``incr`` is INCR), so concurrent workers need no lock. If the cache itself fails, the
breaker lets calls through: it protects the service, it must not stop the summaries.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.core.cache import cache as default_cache

logger = logging.getLogger(__name__)

# A run of failures this old is forgotten even without a success in between.
FAILURES_TTL_SECONDS = 24 * 3600


class CircuitOpen(Exception):
    """The service is being left alone for a while; ask again in ``retry_after`` seconds."""

    def __init__(self, retry_after: float):
        super().__init__(f"The AI service is paused after repeated failures ({retry_after:.0f} s).")
        self.retry_after = retry_after


class CircuitBreaker:
    def __init__(self, name: str, *, threshold: int, cooldown: float, cache=None):
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self.cache = cache or default_cache
        self._failures = f"breaker:{digest}:failures"
        self._open_until = f"breaker:{digest}:open_until"
        self._probe = f"breaker:{digest}:probe"

    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (for logs, tests and the docs)."""
        try:
            open_until = self.cache.get(self._open_until)
            failures = self.cache.get(self._failures) or 0
        except Exception:
            return "closed"
        if open_until and open_until > time.time():
            return "open"
        return "half_open" if failures >= self.threshold else "closed"

    def before_call(self) -> None:
        """Raise CircuitOpen unless this caller may call the service now."""
        try:
            now = time.time()
            open_until = self.cache.get(self._open_until)
            if open_until and open_until > now:
                raise CircuitOpen(open_until - now)
            if (self.cache.get(self._failures) or 0) < self.threshold:
                return
            # Half-open: one probe per cool-down. The key expires on its own if the probing
            # worker dies before it can report.
            if not self.cache.add(self._probe, now, timeout=max(1, int(self.cooldown))):
                raise CircuitOpen(self.cooldown)
            logger.info("circuit half-open: probing", extra={"breaker": self.name})
        except CircuitOpen:
            raise
        except Exception:
            logger.warning("circuit breaker state unavailable", exc_info=True)

    def succeeded(self) -> None:
        try:
            failures = self.cache.get(self._failures) or 0
            if failures:
                self.cache.delete_many([self._failures, self._open_until, self._probe])
                if failures >= self.threshold:
                    logger.info("circuit closed", extra={"breaker": self.name})
        except Exception:
            logger.warning("circuit breaker state unavailable", exc_info=True)

    def failed(self) -> None:
        try:
            self.cache.add(self._failures, 0, timeout=FAILURES_TTL_SECONDS)
            try:
                failures = self.cache.incr(self._failures)
            except ValueError:  # expired between the two commands
                self.cache.set(self._failures, 1, timeout=FAILURES_TTL_SECONDS)
                failures = 1
            if failures >= self.threshold:
                timeout = max(1, int(self.cooldown + 1))
                self.cache.set(self._open_until, time.time() + self.cooldown, timeout=timeout)
                self.cache.delete(self._probe)
                logger.warning(
                    "circuit open",
                    extra={"breaker": self.name, "failures": failures, "cooldown": self.cooldown},
                )
        except Exception:
            logger.warning("circuit breaker state unavailable", exc_info=True)
