from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core import rls
from tenants.services import system_bypass, two_factor_reset


class Command(BaseCommand):
    help = (
        "Remove a console user's two-factor authentication (they lost their phone and their "
        "recovery codes); recorded in the audit trail. They sign in with their password alone "
        "next time and set it up again."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="The console account's username.")

    def handle(self, *args, username, **options):
        try:
            with system_bypass(reason="two_factor_reset command"):
                user = get_user_model()._default_manager.filter(username=username).first()
            if user is None:
                raise CommandError(f"No account {username!r}.")
            had = two_factor_reset(user=user, actor_label="manage.py two_factor_reset")
        finally:
            rls.reset()
        if had:
            self.stdout.write(f"Two-factor authentication removed for {username}.")
        else:
            self.stdout.write(f"{username} had no two-factor authentication.")
