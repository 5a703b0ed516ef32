"""Migration operations putting tables behind the wall (the tenant policy, a policy of one's
own, append-only triggers) and the SQL conditions the migrations' policies are written with."""

from __future__ import annotations

from django.db import migrations as dj_migrations

# What the policies compare with; each is a scalar subquery so that PostgreSQL checks the
# signature once per statement (an InitPlan), not once per row.
_TENANT_MATCH = "(SELECT rls_tenant())"
_BYPASS_ON = "(SELECT rls_bypass())"
_USER_ID = "(SELECT rls_user())"
_IDENTITY_ON = "(SELECT rls_identity_lookup())"
_SESSION_KEY = "(SELECT rls_session_key())"


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
