"""The SQL functions the policies call (``rls_functions``, for the migrations): reading each
signed setting, checking its signature for this connection, and the bypass."""

from __future__ import annotations

from django.db import migrations as dj_migrations

from .signing import IDENTITY, SESSION, TENANT, USER

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
