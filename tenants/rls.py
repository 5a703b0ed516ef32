"""The database wall: PostgreSQL row-level security.

Every tenant-owned table has RLS enabled and FORCEd with a policy comparing its ``tenant_id``
to the connection's ``app.tenant_id`` setting (see ``rls_enable``, used by the migrations).
The application connects as a role that is neither superuser nor BYPASSRLS, so with no tenant
set a query sees no tenant rows at all, and in a tenant's context it sees only that tenant's
rows - whatever the ORM query says.

The settings are session-level (``set_config(..., false)``) and each context manager puts the
previous value back when it exits, so they nest, work in autocommit mode and never outlive
the request/task that set them on a pooled connection. (A transaction-local value set inside
a savepoint would last until the *outer* transaction ends, which is the opposite of what a
nested context needs.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db import migrations as dj_migrations

logger = logging.getLogger(__name__)

TENANT = "app.tenant_id"
USER = "app.user_id"
BYPASS = "app.rls_bypass"

_TENANT_MATCH = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
_BYPASS_ON = "current_setting('app.rls_bypass', true) = 'on'"
_USER_ID = "NULLIF(current_setting('app.user_id', true), '')::bigint"


def _state(connection) -> dict[str, str]:
    # What this process last set on this connection; a new connection starts empty, as does
    # PostgreSQL's side (an unset custom setting reads as NULL/'').
    if not hasattr(connection, "_rls_state"):
        connection._rls_state = {}
    return connection._rls_state


def _apply(connection, values: dict[str, str]) -> None:
    names, params = [], []
    for name, value in values.items():
        names.append("set_config(%s, %s, false)")
        params.extend([name, value])
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(names), params)
    _state(connection).update(values)


@contextmanager
def _settings(values: dict[str, str], using: str) -> Iterator[None]:
    connection = connections[using]
    state = _state(connection)
    previous = {name: state.get(name, "") for name in values}
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
    """Let the block read the user's own memberships (and their tenants) before a tenant is
    chosen; nothing else becomes visible."""
    return _settings({USER: str(user_id) if user_id else ""}, using)


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
        _apply(connection, {TENANT: "", USER: "", BYPASS: ""})
    except DatabaseError:
        # A connection we cannot reset must not be reused with a tenant still set on it.
        _state(connection).clear()
        connection.close()


def current_tenant_id(*, using: str = DEFAULT_DB_ALIAS) -> str:
    return _state(connections[using]).get(TENANT, "")


# --- Migrations -----------------------------------------------------------------------------


def rls_enable(table: str, *, column: str = "tenant_id", extra_read: str = "") -> list:
    """Migration operations that enable and FORCE RLS on ``table`` with the tenant policy.

    ``extra_read`` is an optional SQL condition granting additional read-only visibility
    (memberships of the signed-in user, for instance).
    """
    match = f"({column} = {_TENANT_MATCH} OR {_BYPASS_ON})"
    forward = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING {match} WITH CHECK {match}",
    ]
    backward = [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]
    if extra_read:
        forward.append(
            f"CREATE POLICY tenant_extra_read ON {table} FOR SELECT USING ({extra_read})"
        )
        backward.insert(0, f"DROP POLICY IF EXISTS tenant_extra_read ON {table}")
    return [dj_migrations.RunSQL(";\n".join(forward), ";\n".join(backward))]


def append_only(table: str, *, allow_delete: bool = False) -> list:
    """Migration operations installing a trigger that refuses UPDATE (and DELETE unless
    ``allow_delete``) on ``table`` for every role, the owner included."""
    events = "UPDATE" if allow_delete else "UPDATE OR DELETE"
    function = f"{table}_append_only"
    forward = f"""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only' USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER {function} BEFORE {events} ON {table}
            FOR EACH ROW EXECUTE FUNCTION {function}();
    """
    backward = (
        f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();"
    )
    return [dj_migrations.RunSQL(forward, backward)]


USER_MEMBERSHIP_READ = f"user_id = {_USER_ID}"
_MEMBER_TENANTS = "SELECT tenant_id FROM tenants_membership WHERE user_id = " + _USER_ID  # noqa: S608
USER_TENANT_READ = f"id IN ({_MEMBER_TENANTS})"
