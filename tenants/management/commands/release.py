"""`release`: what fly.toml's release_command runs once per deploy, before new machines start.

In order, stopping at the first failure (a failed release command stops the deploy):
1. Django's deployment checks and the database checks (``check --deploy --database default``,
   warnings included): settings that would serve insecurely, an application role that
   bypasses row-level security.
2. ``migration_safety_check``: no pending migration blocks writes to a large table. Nothing has
   changed yet when either fails.
3. ``migrate`` (as DATABASE_OWNER_URL, under the migrations' time limits), which installs the
   row-level security key derived from SECRET_KEY.
4. The database wall stands for the application role (core.rls.wall_problems), as /readyz
   will check on every new machine.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core import rls


class Command(BaseCommand):
    help = "Deploy checks, the migration lock check, migrate, then the database wall's check."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow",
            action="append",
            default=[],
            metavar="APP_LABEL.MIGRATION_NAME",
            help="Passed to migration_safety_check: run this locking migration anyway (as "
            "are those MIGRATION_ALLOW names).",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        # Outside production the deployment checks warn by design (plain http, no HSTS).
        call_command(
            "check", deploy=settings.PRODUCTION, databases=["default"], fail_level="WARNING"
        )
        allow = [*options["allow"], *settings.MIGRATION_ALLOW]
        call_command("migration_safety_check", allow=allow, verbosity=verbosity)
        call_command("migrate", interactive=False, verbosity=verbosity)
        problems = rls.wall_problems()
        if problems:
            raise CommandError("The database wall does not stand: " + "; ".join(problems))
        if verbosity >= 1:
            self.stdout.write("Release checks passed; migrations applied.")
