"""Settings for running migrations safely on a live database (imported by config.settings):
the time limits ``migrate`` sets, the release command's lock check and the migration linter's
accepted exceptions. docs/deploy.md explains them."""

import re

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

# `manage.py migrate` (tenants' command) runs every migration with these PostgreSQL limits. A
# migration waiting longer than MIGRATION_LOCK_TIMEOUT for a lock gives up (the deploy fails,
# nothing half-done: each migration is one transaction) instead of queueing every request
# behind it; one statement running longer than MIGRATION_STATEMENT_TIMEOUT is stopped. Values
# are PostgreSQL durations ("5s", "10min"); "0" turns a limit off.
MIGRATION_LOCK_TIMEOUT = env.str("MIGRATION_LOCK_TIMEOUT", default="5s")
MIGRATION_STATEMENT_TIMEOUT = env.str("MIGRATION_STATEMENT_TIMEOUT", default="10min")
for _name in ("MIGRATION_LOCK_TIMEOUT", "MIGRATION_STATEMENT_TIMEOUT"):
    # They are passed as connection options: one word, a number and PostgreSQL's unit.
    if not re.fullmatch(r"\d+(us|ms|s|min|h|d)?", globals()[_name]):
        raise ImproperlyConfigured(f"{_name} must be a PostgreSQL duration such as 5s or 10min")

# `manage.py migration_safety_check` (the release command runs it before migrate) refuses
# pending migrations whose operations lock a table out of reads or writes while they rewrite
# or scan it, when that table holds more than this many rows or bytes (pg_class.reltuples,
# pg_total_relation_size). Below both, the lock is held for a moment.
MIGRATION_LARGE_TABLE_ROWS = env.int("MIGRATION_LARGE_TABLE_ROWS", default=100_000)
MIGRATION_LARGE_TABLE_BYTES = env.int("MIGRATION_LARGE_TABLE_BYTES", default=256 * 1024 * 1024)
# Locking migrations the release command runs anyway ("app_label.migration_name", comma
# separated), for a maintenance window: set it for one deploy (`fly secrets set --stage`), as
# the release command runs on the new image - the one that has the migration.
MIGRATION_ALLOW = env.list("MIGRATION_ALLOW", default=[])

# django-migration-linter (`manage.py lintmigrations`, run by the test command) on our own
# apps, warnings counted as errors. These migrations were written before it ran; each stays
# listed with why it is acceptable. The linter matches names in every app, so a name listed
# here is not linted anywhere: keep names unique (they are, apart from the shared
# 0002_row_level_security, whose other copies lint clean). New NOT NULL columns take a
# database default (`db_default=`), which old machines' inserts during a rolling deploy need.
MIGRATION_LINT_ACCEPTED = {
    # RunSQL creating the row-level security functions and the signing-key table: the
    # linter's regex reads "NOT NULL" in the new table's definition as a column made NOT NULL.
    "tenants.0002_row_level_security": "RLS functions; NOT NULL of a new table, not a column",
    "tenants.0003_signed_rls_settings": "RLS functions; NOT NULL of a new table, not a column",
    "tenants.0006_pin_rls_function_search_path": "RLS functions redefined; no column changes",
    # NOT NULL columns with a Django-side default, added in one ALTER (no rewrite on PG 11+).
    # Only machines of the previous release inserting during a rolling deploy would fail.
    "interviews.0003_session_realtime_config": "NOT NULL with default; before rolling deploys",
    "interviews.0007_live_updates": "NOT NULL with default; before rolling deploys",
    "interviews.0008_summary_claim": "NOT NULL with default; before rolling deploys",
    "interviews.0009_template_video_required": "NOT NULL with default; before rolling deploys",
    "tenants.0008_tenant_video_enabled": "NOT NULL with default; before rolling deploys",
    # Recreates a partial index without CONCURRENTLY: invitations held few rows then.
    "invitations.0005_expired_at": "index rebuilt on a small table",
}
MIGRATION_LINTER_OPTIONS = {
    "include_apps": [
        "core",
        "tenants",
        "webhooks",
        "interviews",
        "live",
        "invitations",
        "privacy",
        "tenant_api",
        "provisioning",
    ],
    "ignore_name": sorted({name.split(".", 1)[1] for name in MIGRATION_LINT_ACCEPTED}),
    "warnings_as_errors": [],  # every warning (locking index builds...) fails the lint
    "no_cache": True,
}
