"""`migration_safety_check`: refuse pending migrations that would lock a large table.

The release command runs it before ``migrate`` (tenants.migration_safety says what is flagged
and why). It only reads: the migration plan and the tables' sizes from PostgreSQL's catalog, as the
schema owner (like migrate: the application role may not read the schema yet).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from tenants import migration_safety
from tenants.schema_owner import connected_as, owner_url_for


class Command(BaseCommand):
    help = (
        "Fails if a pending migration would block writes to a table larger than "
        "MIGRATION_LARGE_TABLE_ROWS rows or MIGRATION_LARGE_TABLE_BYTES bytes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--allow",
            action="append",
            default=[],
            metavar="APP_LABEL.MIGRATION_NAME",
            help="Run this migration anyway (a maintenance window). Repeat for several.",
        )

    def handle(self, *args, **options):
        alias = options["database"]
        with connected_as(alias, owner_url_for(alias)) as connection:
            risks = migration_safety.pending_lock_risks(connection=connection)
            locks = migration_safety.large_table_locks(
                [risk for risk in risks if risk.migration not in options["allow"]],
                connection=connection,
                max_rows=settings.MIGRATION_LARGE_TABLE_ROWS,
                max_bytes=settings.MIGRATION_LARGE_TABLE_BYTES,
            )
        if locks:
            lines = [
                f"  {lock.risk.migration}: {lock.risk.operation} {lock.risk.why}; "
                f"{lock.risk.table} has about {lock.rows} rows, {lock.bytes} bytes"
                for lock in locks
            ]
            raise CommandError(
                "Pending migrations would block a large table; nothing was migrated.\n"
                + "\n".join(lines)
                + "\nRewrite them (docs/deploy.md, migration safety) or run them in a "
                "maintenance window with --allow <app_label.migration_name>."
            )
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Migration safety: {len(risks)} locking operation(s) pending, "
                "none on a large table."
            )
