"""`migrate`, run as the schema owner.

The application's own role (DATABASE_URL) only reads and writes rows; DDL runs as the role in
DATABASE_OWNER_URL, which then grants the application role what it needs on every table. With
no DATABASE_OWNER_URL this is Django's plain migrate. Either way it ends by installing this
deployment's key for the signed row-level security settings (core.rls), so a changed
SECRET_KEY takes effect with the next migrate (run on every deploy).

Every migration runs under PostgreSQL's ``lock_timeout`` and ``statement_timeout``
(MIGRATION_LOCK_TIMEOUT, MIGRATION_STATEMENT_TIMEOUT): a migration queued behind a long
transaction would otherwise hold every later query on its table in the queue behind it. They
are connection options, so they hold on whatever connection Django opens for the migrations.
"""

from django.conf import settings
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections

from core import rls
from tenants.schema_owner import connected_as, owner_url_for


class Command(MigrateCommand):
    help = MigrateCommand.help + (
        " Runs as the DATABASE_OWNER_URL role and grants the application role its privileges."
    )

    def handle(self, *args, **options):
        alias = options["database"]
        app_role = connections[alias].settings_dict["USER"]
        limits = (
            f"-c lock_timeout={settings.MIGRATION_LOCK_TIMEOUT} "
            f"-c statement_timeout={settings.MIGRATION_STATEMENT_TIMEOUT}"
        )
        with connected_as(alias, owner_url_for(alias), server_options=limits) as connection:
            super().handle(*args, **options)
            if app_role and app_role != connection.settings_dict["USER"]:
                self._grant(connection, app_role)
            self._install_signing_key(connection)

    def _grant(self, connection, role: str) -> None:
        quoted = connection.ops.quote_name(role)
        with connection.cursor() as cursor:
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"
            )
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
        if self.verbosity >= 1:
            self.stdout.write(f"Granted row access on all tables to role {role}.")

    def _install_signing_key(self, connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('rls_private.signing_key') IS NOT NULL")
            if cursor.fetchone()[0]:  # not when migrating back to before it existed
                rls.install_signing_key(cursor)
