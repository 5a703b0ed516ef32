import getpass

from django.core.management.base import BaseCommand, CommandError

from core import rls
from core.maintenance import DEFAULT_MESSAGE, maintenance_current
from tenants.services import platform_maintenance_set


class Command(BaseCommand):
    help = (
        "Maintenance mode: 'on' stops new interviews from starting (candidates see a friendly "
        "page, the candidate API answers 503 with Retry-After) while interviews already live "
        "carry on and the console stays usable; 'off' ends it; 'status' shows it."
    )

    def add_arguments(self, parser):
        parser.add_argument("state", choices=["on", "off", "status"])
        parser.add_argument(
            "--message",
            default="",
            help=f'What candidates read (at most 500 characters). Default: "{DEFAULT_MESSAGE}"',
        )
        parser.add_argument(
            "--retry-after",
            type=int,
            default=900,
            help="Seconds candidates' browsers are told to wait (Retry-After). Default 900.",
        )

    def handle(self, *args, state, message, retry_after, **options):
        try:
            if state != "status":
                platform_maintenance_set(
                    enabled=state == "on",
                    message=message,
                    retry_after_seconds=retry_after,
                    actor_label=f"manage.py maintenance ({_who()})",
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            rls.reset()
        maintenance = maintenance_current()
        if maintenance is None:
            self.stdout.write("Maintenance mode is off.")
            return
        since = maintenance.since.isoformat(timespec="seconds") if maintenance.since else "?"
        self.stdout.write(
            f"Maintenance mode is on (since {since}, Retry-After "
            f"{maintenance.retry_after_seconds} s): {maintenance.text}"
        )


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's)
        return "unknown user"
