"""Whether the database wall stands for this process's connection (for /readyz and
``manage.py check``)."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

from .context import tenant_context


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
