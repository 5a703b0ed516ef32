"""tenants.asyncdb: the asynchronous path to PostgreSQL keeps the database wall (the
application role, row-level security, the tenant set per transaction) and survives
connections the server dropped."""

import asyncio

import psycopg
import pytest

from tenants import asyncdb
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


def test_a_connection_the_server_dropped_is_replaced(tenant_a, settings):
    settings.DATABASE_ASYNC_POOL_SIZE = 1  # so the statements share one pooled connection

    async def scenario():
        [(first,)] = await asyncdb.tenant_fetch(tenant_a.pk, "SELECT pg_backend_pid()", {})
        # The server ends the pooled connection (a restart, a failover, an idle timeout).
        async with await psycopg.AsyncConnection.connect(
            asyncdb.conninfo(), autocommit=True
        ) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", [first])
        [(second,)] = await asyncdb.tenant_fetch(tenant_a.pk, "SELECT pg_backend_pid()", {})
        return first, second

    first, second = run(scenario)
    assert first != second


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
