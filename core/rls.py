"""The database wall: PostgreSQL row-level security.

Every tenant-owned table has RLS enabled and FORCEd with a policy comparing its ``tenant_id``
to the tenant the connection works for (see ``rls_enable``, used by the migrations). The
application connects as a role that is neither superuser nor BYPASSRLS, so with no tenant set
a query sees no tenant rows at all, and in a tenant's context it sees only that tenant's rows -
whatever the ORM query says.

The tenant (and the user, the signed-in session, the bypass) is a connection setting, and a
setting anyone on the connection can change: a stray raw query or an SQL injection could call
``set_config('app.tenant_id', <another tenant>, false)``. So the values are *signed*: each is
``<value>:<HMAC-SHA256>`` over the setting's name, the value and this connection's identity
(backend pid and start time, unique over the server's life), with a key derived from
SECRET_KEY. The policies believe a value only when ``rls_verified()`` - a SECURITY DEFINER
function that alone may read the key, kept in the owner's private schema - finds its signature
right for the connection it is on. SQL alone cannot make a signature, and one read off another
connection is worthless here, as long as the connection's identity cannot be faked: the
functions pin their search_path (see RLS_FUNCTIONS_SQL).

The settings are session-level (``set_config(..., false)``) and each context manager puts the
previous value back when it exits, so they nest, work in autocommit mode and never outlive
the request/task that set them on a pooled connection. (A transaction-local value set inside
a savepoint would last until the *outer* transaction ends, which is the opposite of what a
nested context needs.)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db import migrations as dj_migrations
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

TENANT = "app.tenant_id"
USER = "app.user_id"
BYPASS = "app.rls_bypass"
IDENTITY = "app.identity_lookup"
SESSION = "app.session_key"

# What the policies compare with; each is a scalar subquery so that PostgreSQL checks the
# signature once per statement (an InitPlan), not once per row.
_TENANT_MATCH = "(SELECT rls_tenant())"
_BYPASS_ON = "(SELECT rls_bypass())"
_USER_ID = "(SELECT rls_user())"
_IDENTITY_ON = "(SELECT rls_identity_lookup())"
_SESSION_KEY = "(SELECT rls_session_key())"

CONNECTION_IDENTITY_SQL = "SELECT public.rls_connection()"


# --- Signed settings ------------------------------------------------------------------------


def signing_key() -> bytes:
    """The 64-byte key the database checks signatures with (one SHA-256 block, so HMAC uses it
    as it is). Derived from SECRET_KEY; ``migrate`` installs it (``install_signing_key``)."""
    return salted_hmac("core.rls", "row-level security settings", algorithm="sha512").digest()


def sign(name: str, value: str, connection_identity: str) -> str:
    """``value`` signed for setting ``name`` on the connection ``connection_identity``."""
    message = f"{name}:{value}:{connection_identity}".encode()
    return f"{value}:{hmac.new(signing_key(), message, hashlib.sha256).hexdigest()}"


def install_signing_key(cursor) -> None:
    """Store this deployment's key where only the schema owner (and ``rls_verified``, which
    runs as it) can read it. Run as the owner, after the migrations."""
    key = signing_key()
    cursor.execute(
        "INSERT INTO rls_private.signing_key (id, inner_pad, outer_pad) VALUES (true, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET inner_pad = excluded.inner_pad, "
        "outer_pad = excluded.outer_pad",
        [bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)],
    )


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


def wall_problems(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """What keeps the database wall from standing for this connection's role, if anything
    (for /readyz and ``manage.py check``; the migrations must have run)."""
    problems = []
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR rolbypassrls, public.rls_bypass() "
            "FROM pg_roles WHERE rolname = current_user"
        )
        role_bypasses, owns_the_wall = cursor.fetchone()
    if role_bypasses:
        problems.append("the application's database role bypasses row-level security")
    elif owns_the_wall:
        problems.append(
            "the application's database role owns the schema (set DATABASE_OWNER_URL to "
            "another role and migrate with it)"
        )
    probe = "00000000-0000-0000-0000-000000000000"
    with tenant_context(probe, using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT public.rls_tenant()::text")
        if cursor.fetchone()[0] != probe:
            problems.append(
                "the database does not accept this process's row-level security signatures "
                "(SECRET_KEY changed since the last migrate?)"
            )
    return problems


# --- Migrations -----------------------------------------------------------------------------

# The functions the policies call. Each runs with its search_path pinned to pg_catalog (then
# pg_temp, last): otherwise the session's own temporary schema is searched first for type
# names, and a query could shadow ``text`` or ``uuid`` with a type and cast of its own and make
# these functions return what it likes. ``rls_connection`` names this connection (invoker rights:
# PostgreSQL shows a backend's start time to its own role). ``rls_verified`` runs as the
# schema owner, the only role that can read the key, and returns a setting's value when its
# signature is right for this connection, else NULL. The others read one setting each.
# ``rls_bypass`` is also true for the role that made these functions - the schema owner, which
# runs the migrations and owns the SECURITY DEFINER invitation-token lookup - and never for the
# application role (/readyz makes sure of that). The wrappers skip the signature check (and
# finding the connection's identity) for a setting that is not set at all, which is most of
# them on most statements. They are PL/pgSQL rather than SQL functions on purpose: PostgreSQL
# would inline SQL ones into every policy, parsing their bodies again each time a statement
# is planned (every statement, under Django), which costs more than the call.
RLS_FUNCTIONS_SQL = """
CREATE SCHEMA IF NOT EXISTS rls_private;
REVOKE ALL ON SCHEMA rls_private FROM PUBLIC;
CREATE TABLE IF NOT EXISTS rls_private.signing_key (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    inner_pad bytea NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad bytea NOT NULL CHECK (length(outer_pad) = 64)
);
REVOKE ALL ON rls_private.signing_key FROM PUBLIC;

CREATE OR REPLACE FUNCTION rls_connection() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT pg_backend_pid()::text || '@'
                || (extract(epoch FROM backend_start) * 1000000)::bigint::text
            FROM pg_stat_get_activity(pg_backend_pid()));
END
$$;

CREATE OR REPLACE FUNCTION rls_verified(setting text, connection text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    raw text := current_setting(setting, true);
    cut integer;
    claimed text;
    pads record;
BEGIN
    IF raw IS NULL OR connection IS NULL OR length(raw) < 66 THEN
        RETURN NULL;
    END IF;
    cut := length(raw) - 64;
    IF substr(raw, cut, 1) <> ':' THEN
        RETURN NULL;
    END IF;
    claimed := substr(raw, 1, cut - 1);
    SELECT inner_pad, outer_pad INTO pads FROM rls_private.signing_key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF encode(sha256(pads.outer_pad || sha256(pads.inner_pad
            || convert_to(setting || ':' || claimed || ':' || connection, 'UTF8'))), 'hex')
        = substr(raw, cut + 1) THEN
        RETURN claimed;
    END IF;
    RETURN NULL;
END
$$;

{setting_functions}

-- The schema owner's name is written into the function when it is made (by the owner, in a
-- migration): comparing a name costs nothing, a catalog lookup on every statement would not.
DO $do$
BEGIN
    EXECUTE format($fn$
        CREATE OR REPLACE FUNCTION rls_bypass() RETURNS boolean
        LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            RETURN current_user = %L::name
                OR (current_setting('app.rls_bypass', true) <> ''
                    AND coalesce(
                        public.rls_verified('app.rls_bypass', public.rls_connection()) = 'on',
                        false));
        END
        $$
    $fn$, current_user);
END
$do$;
"""


def _setting_function(function: str, setting: str, returns: str, verified: str) -> str:
    # A setting that is not set at all skips the signature check (and finding the
    # connection's identity): most of them, on most statements.
    unset = "false" if returns == "boolean" else "NULL"
    check = verified.format(f"public.rls_verified('{setting}', public.rls_connection())")
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS {returns}
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('{setting}', true) <> '' THEN
        RETURN {check};
    END IF;
    RETURN {unset};
END
$$;"""


RLS_FUNCTIONS_SQL = RLS_FUNCTIONS_SQL.replace(
    "{setting_functions}",
    "".join(
        _setting_function(*spec)
        for spec in (
            ("rls_tenant", TENANT, "uuid", "{}::uuid"),
            ("rls_user", USER, "bigint", "{}::bigint"),
            ("rls_session_key", SESSION, "text", "{}"),
            ("rls_identity_lookup", IDENTITY, "boolean", "coalesce({} = 'on', false)"),
        )
    ),
)


def rls_functions() -> list:
    """Migration operations creating (or replacing) the functions the policies call."""
    return [dj_migrations.RunSQL(RLS_FUNCTIONS_SQL, dj_migrations.RunSQL.noop)]


def _tenant_match(column: str) -> str:
    return f"({column} = {_TENANT_MATCH} OR {_BYPASS_ON})"


def rls_enable(table: str, *, column: str = "tenant_id", extra_read: str = "") -> list:
    """Migration operations that enable and FORCE RLS on ``table`` with the tenant policy.

    ``extra_read`` is an optional SQL condition granting additional read-only visibility
    (memberships of the signed-in user, for instance).
    """
    match = _tenant_match(column)
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


# The policies as first written, when the settings were plain values (for reversing
# ``rls_sign_policies``).
_PLAIN_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
_PLAIN_BYPASS = "current_setting('app.rls_bypass', true) = 'on'"
_PLAIN_USER = "NULLIF(current_setting('app.user_id', true), '')::bigint"


def rls_sign_policies(table: str, *, column: str = "tenant_id", extra_read: str = "") -> list:
    """Migration operations moving a table's policies (made by ``rls_enable`` before the
    settings were signed) onto the signed settings."""

    def alter(match: str, extra: str) -> str:
        statements = [f"ALTER POLICY tenant_isolation ON {table} USING {match} WITH CHECK {match}"]
        if extra:
            statements.append(f"ALTER POLICY tenant_extra_read ON {table} USING ({extra})")
        return ";\n".join(statements)

    plain = f"({column} = {_PLAIN_TENANT} OR {_PLAIN_BYPASS})"
    plain_extra = extra_read.replace(_USER_ID, _PLAIN_USER)
    return [
        dj_migrations.RunSQL(alter(_tenant_match(column), extra_read), alter(plain, plain_extra))
    ]


def rls_protect(table: str, *, using: str, check: str | None = None) -> list:
    """Migration operations that enable and FORCE RLS on a table that is not a tenant's (a
    user account, a browser session) with one policy: rows visible where ``using`` holds, or
    under the bypass; writable where ``check`` (default: ``using``) holds, or under the
    bypass."""
    visible = f"({using}) OR {_BYPASS_ON}"
    writable = f"({check or using}) OR {_BYPASS_ON}"
    forward = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY owner_only ON {table} USING ({visible}) WITH CHECK ({writable})",
    ]
    backward = [
        f"DROP POLICY IF EXISTS owner_only ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]
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
# A user account (auth_user, and rows hanging off it): its own user, anyone while signing in,
# and the members of the tenant being worked in (the console lists them).
OWN_USER = _USER_ID
IDENTITY_LOOKUP = _IDENTITY_ON
TENANT_MEMBER_USERS = (
    "SELECT user_id FROM tenants_membership WHERE tenant_id = " + _TENANT_MATCH  # noqa: S608
)
SESSION_KEY = _SESSION_KEY
TENANT_MATCH = _TENANT_MATCH
