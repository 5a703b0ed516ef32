"""Transactional tests end by emptying every table (Django's flush, one TRUNCATE). A request
the live server was still answering when its page closed, or a worker finishing its last
write, can hold a lock the TRUNCATE needs while waiting on one the TRUNCATE holds; PostgreSQL
then ends one of the two with "deadlock detected". When the flush is the one ended, the other
has finished by then: the flush is tried again instead of leaving the next test a database
full of this test's rows."""

import time

from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import TransactionTestCase
from psycopg import errors

ATTEMPTS = 5


def _ended_by_deadlock(exc: BaseException) -> bool:
    cause = exc.__cause__
    if isinstance(cause, OperationalError):
        cause = cause.__cause__
    return isinstance(cause, errors.DeadlockDetected)


def retry_flush_on_deadlock() -> None:
    original = TransactionTestCase._fixture_teardown
    if getattr(original, "retries_deadlocks", False):
        return

    def _fixture_teardown(self):
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return original(self)
            except CommandError as exc:
                if attempt == ATTEMPTS or not _ended_by_deadlock(exc):
                    raise
                time.sleep(0.2 * attempt)

    _fixture_teardown.retries_deadlocks = True
    TransactionTestCase._fixture_teardown = _fixture_teardown
