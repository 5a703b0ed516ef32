"""Setting the tenant, user, session, identity lookup or bypass on a connection for a block:
the context managers every request and task works through, and the reset at their end."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .signing import BYPASS, CONNECTION_IDENTITY_SQL, IDENTITY, SESSION, TENANT, USER, sign

logger = logging.getLogger("core.rls")  # the package's name: log lines name it as before


def _identity(connection) -> str:
    # Asked once per database connection: Django opens a new one after a close or an error.
    connection.ensure_connection()
    raw = connection.connection
    cached = getattr(connection, "_rls_identity", None)
    if cached is None or cached[0] is not raw:
        with connection.cursor() as cursor:
            cursor.execute(CONNECTION_IDENTITY_SQL)
            cached = connection._rls_identity = (raw, cursor.fetchone()[0])
    return cached[1]


def _state(connection) -> dict[str, str]:
    # What this process last set on this connection; a new connection starts empty, as does
    # PostgreSQL's side (an unset custom setting reads as NULL/'').
    if not hasattr(connection, "_rls_state"):
        connection._rls_state = {}
    return connection._rls_state


def _apply(connection, values: dict[str, str]) -> None:
    names, params = [], []
    identity = _identity(connection) if any(values.values()) else ""
    for name, value in values.items():
        names.append("set_config(%s, %s, false)")
        params.extend([name, sign(name, value, identity) if value else ""])
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(names), params)
    _state(connection).update(values)


@contextmanager
def _settings(values: dict[str, str], using: str) -> Iterator[None]:
    connection = connections[using]
    state = _state(connection)
    previous = {name: state.get(name, "") for name in values}
    if previous == values:  # already so (no user signed in, a nested context): no round trip
        yield
        return
    _apply(connection, values)
    try:
        yield
    finally:
        try:
            _apply(connection, previous)
        except DatabaseError:
            # Only reachable inside a failed transaction; its rollback restores the values
            # set within it. The request middleware resets everything at the end regardless.
            state.update(previous)
            logger.warning("rls: could not restore settings in an aborted transaction")


def tenant_context(tenant_id, *, using: str = DEFAULT_DB_ALIAS):
    """Run the block as tenant ``tenant_id``: queries see and may write only its rows."""
    return _settings({TENANT: str(tenant_id) if tenant_id else ""}, using)


def user_context(user_id, *, using: str = DEFAULT_DB_ALIAS):
    """Let the block read the user's own account, memberships (and their tenants) before a
    tenant is chosen; nothing else becomes visible."""
    return _settings({USER: str(user_id) if user_id else ""}, using)


def identity_lookup_context(*, using: str = DEFAULT_DB_ALIAS):
    """Accounts and email addresses of every user, and nothing of any tenant: for signing in
    (finding a user by name or address) and for adding a person who may already have an
    account. Tenant data stays behind the tenant policy."""
    return _settings({IDENTITY: "on"}, using)


def session_context(session_key, *, using: str = DEFAULT_DB_ALIAS):
    """Let the block read and write the one browser session whose key it was given."""
    return _settings({SESSION: session_key or ""}, using)


def bypass_context(*, using: str = DEFAULT_DB_ALIAS):
    """All tenants' rows. Use ``tenants.services.operator_bypass`` / ``system_bypass``, which
    write the audit trail, rather than this directly."""
    return _settings({BYPASS: "on"}, using)


def reset(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Clear every RLS setting on the connection (end of request / task)."""
    connection = connections[using]
    if connection.connection is None:
        _state(connection).clear()
        return
    try:
        _apply(connection, dict.fromkeys((TENANT, USER, BYPASS, IDENTITY, SESSION), ""))
    except DatabaseError:
        # A connection we cannot reset must not be reused with a tenant still set on it.
        _state(connection).clear()
        connection.close()
