"""Asynchronous database access for request paths that must hold no thread while they wait
(the SDP proxy, many offers at once). Django's ORM is synchronous: each call from async code is
a hand-over to a worker thread, and under a burst of offers those threads and the GIL they
contend for become the bottleneck. Here statements go straight to PostgreSQL on psycopg's
asynchronous connections instead.

The same database wall applies as everywhere else: connections are made as the application role
(``DATABASE_URL``, subject to row-level security), and every statement runs in a transaction
with ``app.tenant_id`` set transaction-locally (``set_config(..., true)``), so nothing carries
over to the connection's next user. The value is signed for the connection it is sent on
(core.rls), whose identity the pool asks for once, when it opens it. Setting the tenant and
the statement go to the server as one query string - one round trip, one implicit transaction
that commits at its end or rolls back entirely - with the values bound on the client as Django
itself does (psycopg's client-side binding).

There is one pool per event loop (a connection pool belongs to the loop that opened it). Under
daphne that is one pool per web process; a context that runs each request on a fresh loop
(Django's test client) gets a pool per request, dropped when its loop closes.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import AsyncClientCursor
from psycopg import conninfo as pg_conninfo
from psycopg_pool import AsyncConnectionPool

from . import rls

# The tenant, and a time limit (lock waits included) so that a statement stuck behind a row
# lock cannot hold one of the pool's few connections for long; both for the transaction only.
_SET_TENANT = (
    "SELECT set_config(%(_rls_name)s, %(_rls_tenant)s, true), "
    "set_config('statement_timeout', %(_timeout)s, true); "
)
_NOTIFY = "; SELECT pg_notify(%(_notify_channel)s, %(_notify_payload)s)"
# Django's own connection parameters, minus those that only Django's connections understand.
_DJANGO_ONLY = ("context", "cursor_factory", "prepare_threshold")

# A statement that failed on a broken pooled connection is sent once more; statements passed
# here must therefore be safe to repeat (the outcome of the first is unknown).
_ATTEMPTS = 2

# One pool per event loop, as the task opening it: the offers that arrive together while the
# first connection is made all wait for that one pool.
_pools: dict[asyncio.AbstractEventLoop, asyncio.Task[AsyncConnectionPool]] = {}
# Each pooled connection's identity, which the signed tenant setting is bound to.
_identities: weakref.WeakKeyDictionary[psycopg.AsyncConnection, str] = weakref.WeakKeyDictionary()


def conninfo() -> str:
    """libpq connection string of the application role (Django's ``default`` database). A
    role Django would switch to after connecting (``OPTIONS["assume_role"]``) is asked for
    at connection start, so these connections run as the same role as the ORM's."""
    connection = connections["default"]
    params = connection.get_connection_params()
    for name in _DJANGO_ONLY:
        params.pop(name, None)
    role = connection.settings_dict["OPTIONS"].get("assume_role")
    if role:
        escaped = role.replace("\\", "\\\\").replace(" ", "\\ ")
        params["options"] = f"{params.get('options', '')} -c role={escaped}".strip()
    return pg_conninfo.make_conninfo(**params)


async def _pool() -> AsyncConnectionPool:
    loop = asyncio.get_running_loop()
    opening = _pools.get(loop)
    if opening is None:
        for other in [other for other in _pools if other.is_closed()]:
            del _pools[other]  # its connections are closed as the pool is collected
        opening = _pools[loop] = loop.create_task(_open_pool(loop))
    return await asyncio.shield(opening)  # one caller giving up does not stop the opening


async def _open_pool(loop: asyncio.AbstractEventLoop) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        conninfo(),
        min_size=1,
        max_size=settings.DATABASE_ASYNC_POOL_SIZE,
        timeout=settings.DATABASE_ASYNC_POOL_TIMEOUT_SECONDS,
        kwargs={"autocommit": True},
        configure=_learn_identity,
        open=False,
        name="async-app",
    )
    # Wait for the first connection: a pool still connecting in the background when a
    # short-lived loop ends (asgiref's, the test client's) would swallow the loop's
    # cancellation of that work and keep the loop from ever closing. When the database is
    # unreachable, nothing is left retrying behind: the next call tries anew.
    try:
        await pool.open(wait=True, timeout=settings.DATABASE_ASYNC_POOL_TIMEOUT_SECONDS)
    except BaseException:
        _pools.pop(loop, None)
        await pool.close()
        raise
    return pool


async def _learn_identity(connection: psycopg.AsyncConnection) -> None:
    cursor = await connection.execute(rls.CONNECTION_IDENTITY_SQL)
    (_identities[connection],) = await cursor.fetchone()


async def tenant_fetch(
    tenant_id, sql: str, params: dict, *, notify: tuple[str, str] | None = None
) -> list[tuple[Any, ...]]:
    """Run one statement (named ``%(...)s`` parameters) as tenant ``tenant_id`` in a
    transaction of its own and return its rows. ``notify=(channel, payload)`` also sends a
    PostgreSQL notification, delivered when - and only if - the transaction commits. The
    statement may be sent twice (see _ATTEMPTS), so it must be safe to repeat. Raises psycopg
    errors (``psycopg_pool.PoolTimeout`` when no connection is free)."""
    query = _SET_TENANT + sql + (_NOTIFY if notify else "")
    values = {
        **params,
        "_rls_name": rls.TENANT,
        "_timeout": f"{settings.DATABASE_ASYNC_STATEMENT_TIMEOUT_MS}ms",
    }
    if notify:
        values["_notify_channel"], values["_notify_payload"] = notify
    pool = await _pool()
    for attempt in range(1, _ATTEMPTS + 1):
        async with pool.connection() as connection:
            values["_rls_tenant"] = rls.sign(rls.TENANT, str(tenant_id), _identities[connection])
            try:
                cursor = AsyncClientCursor(connection)
                await cursor.execute(query, values)
                cursor.nextset()  # past set_config, to the statement's own rows
                return await cursor.fetchall()
            except psycopg.OperationalError:
                # A connection the server dropped while it sat in the pool (a restart, a
                # failover) is discarded; the statement goes again on a live one. Checking
                # every connection before use instead would cost a round trip each.
                if attempt == _ATTEMPTS or not connection.broken:
                    raise
        # After a restart every idle connection is dead: drop them all before the retry.
        await pool.check()
    raise AssertionError("unreachable")


async def close() -> None:
    """Close this event loop's pool (for callers whose loop is about to end)."""
    opening = _pools.pop(asyncio.get_running_loop(), None)
    if opening is None:
        return
    try:
        pool = await opening
    except Exception:  # it never opened
        return
    await pool.close()
