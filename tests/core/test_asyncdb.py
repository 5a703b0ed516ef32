"""core.asyncdb: the asynchronous path to PostgreSQL keeps the database wall (the
application role, row-level security, the tenant set per transaction) and survives
connections the server dropped."""

import asyncio
import threading

import psycopg
import pytest

from core import asyncdb
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = "SELECT id::text FROM interviews_interviewsession ORDER BY id"


def run(scenario):
    async def and_close():
        try:
            return await scenario()
        finally:
            await asyncdb.close()

    return asyncio.run(and_close())


def test_statements_see_only_their_tenant_and_leave_nothing_behind(tenant_a, tenant_b):
    mine, theirs = SessionFactory(tenant=tenant_a), SessionFactory(tenant=tenant_b)

    async def scenario():
        seen_a = await asyncdb.tenant_fetch(tenant_a.pk, SESSIONS, {})
        seen_b = await asyncdb.tenant_fetch(tenant_b.pk, SESSIONS, {})
        pool = await asyncdb._pool()
        async with pool.connection() as connection:  # the next user of the same connection
            cursor = await connection.execute(
                "SELECT current_setting('app.tenant_id', true), current_user, "
                "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            )
            after = await cursor.fetchone()
            cursor = await connection.execute(SESSIONS)
            unscoped = await cursor.fetchall()
        return seen_a, seen_b, after, unscoped

    seen_a, seen_b, (tenant_setting, role, superuser), unscoped = run(scenario)
    assert seen_a == [(str(mine.pk),)] and seen_b == [(str(theirs.pk),)]
    assert tenant_setting in (None, "")  # set for the transaction only
    assert not superuser, f"{role} must be subject to row-level security"
    assert unscoped == []  # no tenant set: nothing visible


def test_connections_the_server_dropped_are_replaced(tenant_a):
    pid = "SELECT pg_backend_pid() FROM pg_sleep(0.05)"

    async def scenario():
        # A few connections in the pool, as after a burst of offers.
        pids = {
            row[0]
            for rows in await asyncio.gather(
                *(asyncdb.tenant_fetch(tenant_a.pk, pid, {}) for _ in range(4))
            )
            for row in rows
        }
        assert len(pids) > 1
        # The server ends every one of them (a restart, a failover).
        async with await psycopg.AsyncConnection.connect(
            asyncdb.conninfo(), autocommit=True
        ) as admin:
            for backend in pids:
                await admin.execute("SELECT pg_terminate_backend(%s)", [backend])
        [(after,)] = await asyncdb.tenant_fetch(tenant_a.pk, pid, {})
        return pids, after

    pids, after = run(scenario)
    assert after not in pids


def test_a_statement_has_a_time_limit(tenant_a, settings):
    settings.DATABASE_ASYNC_STATEMENT_TIMEOUT_MS = 100

    async def scenario():
        with pytest.raises(psycopg.errors.QueryCanceled):
            await asyncdb.tenant_fetch(tenant_a.pk, "SELECT pg_sleep(2)", {})
        return await asyncdb.tenant_fetch(tenant_a.pk, "SELECT 1", {})

    assert run(scenario) == [(1,)]


def test_a_notification_is_sent_when_the_transaction_commits(tenant_a):
    async def scenario():
        async with await psycopg.AsyncConnection.connect(
            asyncdb.conninfo(), autocommit=True
        ) as listener:
            await listener.execute("LISTEN asyncdb_test")
            with pytest.raises(psycopg.errors.DivisionByZero):
                await asyncdb.tenant_fetch(
                    tenant_a.pk, "SELECT 1 / 0", {}, notify=("asyncdb_test", "rolled back")
                )
            await asyncdb.tenant_fetch(
                tenant_a.pk, "SELECT 1", {}, notify=("asyncdb_test", "committed")
            )
            received = []
            async for notice in listener.notifies(timeout=2, stop_after=1):
                received.append(notice.payload)
            return received

    assert run(scenario) == ["committed"]


def test_short_lived_event_loops_end(tenant_a):
    """asgiref and Django's test client run async code on a loop of its own that ends with
    the call; the pool opened on it must not keep that loop from closing."""

    def one_loop():
        asyncio.run(asyncdb.tenant_fetch(tenant_a.pk, "SELECT 1", {}))

    for _ in range(20):
        thread = threading.Thread(target=one_loop, daemon=True)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "an event loop with a pool never finished closing"


def test_offers_arriving_together_share_one_pool(tenant_a, settings):
    pid = "SELECT pg_backend_pid() FROM pg_sleep(0.05)"

    async def scenario():
        results = await asyncio.gather(
            *(asyncdb.tenant_fetch(tenant_a.pk, pid, {}) for _ in range(20))
        )
        return {rows[0][0] for rows in results}

    backends = run(scenario)
    assert len(backends) <= settings.DATABASE_ASYNC_POOL_SIZE


def test_a_role_django_assumes_is_assumed_here_too(monkeypatch):
    """With OPTIONS["assume_role"] Django switches role after connecting; these connections
    ask for the same role, so they are never left running as the login role."""
    from django.conf import settings
    from django.db import connections

    options = connections["default"].settings_dict["OPTIONS"]
    app_role = settings.DATABASES["default"]["USER"]
    owner_role = psycopg.conninfo.conninfo_to_dict(
        settings.DATABASE_OWNER_URL.replace("postgres://", "postgresql://", 1)
    )["user"]

    async def current_user():
        async with await psycopg.AsyncConnection.connect(asyncdb.conninfo()) as connection:
            cursor = await connection.execute("SELECT current_user")
            return (await cursor.fetchone())[0]

    monkeypatch.setitem(options, "assume_role", app_role)
    assert asyncio.run(current_user()) == app_role
    # A role the login role is not a member of is refused: the role is really asked for.
    monkeypatch.setitem(options, "assume_role", owner_role)
    with pytest.raises(psycopg.OperationalError, match="permission denied to set role"):
        asyncio.run(current_user())
