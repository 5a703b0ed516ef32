"""The emptying of the database after a transactional test is tried again when PostgreSQL
ends it to break a deadlock (tests/support/flush.py), and only then."""

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import TransactionTestCase
from psycopg import errors

from tests.support import flush


def failing(times: int, error: type[Exception]):
    calls = []

    def teardown(self):
        calls.append(self)
        if len(calls) <= times:
            try:
                try:
                    raise error("ended")
                except Exception as cause:
                    raise OperationalError("ended") from cause
            except OperationalError as exc:
                raise CommandError("Database couldn't be flushed.") from exc

    return teardown, calls


@pytest.fixture
def original(monkeypatch):
    def install(teardown):
        monkeypatch.setattr(TransactionTestCase, "_fixture_teardown", teardown)
        monkeypatch.setattr(flush.time, "sleep", lambda seconds: None)
        flush.retry_flush_on_deadlock()

    return install


def test_a_flush_ended_by_a_deadlock_is_tried_again(original):
    teardown, calls = failing(2, errors.DeadlockDetected)
    original(teardown)
    TransactionTestCase._fixture_teardown(object())
    assert len(calls) == 3


def test_other_flush_errors_are_not_retried(original):
    teardown, calls = failing(1, errors.UndefinedTable)
    original(teardown)
    with pytest.raises(CommandError):
        TransactionTestCase._fixture_teardown(object())
    assert len(calls) == 1


def test_it_gives_up_after_a_few_attempts(original):
    teardown, calls = failing(99, errors.DeadlockDetected)
    original(teardown)
    with pytest.raises(CommandError):
        TransactionTestCase._fixture_teardown(object())
    assert len(calls) == flush.ATTEMPTS
