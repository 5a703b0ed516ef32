"""Operator API credentials: ``create --name X`` (prints the id and secret once), ``revoke
CLIENT_ID``, ``list``."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core import rls
from provisioning.services import operator_client_create, operator_client_revoke, operator_clients


class Command(BaseCommand):
    help = "Create, revoke or list the platform operators' API clients (docs/provisioning.md)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="A new client; its secret is shown once.")
        create.add_argument("--name", required=True)
        revoke = actions.add_parser("revoke", help="Stop a client and its tokens at once.")
        revoke.add_argument("client_id")
        actions.add_parser("list", help="Every client, with its state.")

    def handle(self, *args, action, **options):
        try:
            if action == "create":
                client, secret = operator_client_create(
                    name=options["name"], actor_label="manage.py operator_client"
                )
                self.stdout.write(f"client_id:     {client.client_id}")
                self.stdout.write(f"client_secret: {secret}")
                self.stdout.write("Keep the secret now: it is not stored and not shown again.")
            elif action == "revoke":
                if not operator_client_revoke(
                    client_id=options["client_id"], actor_label="manage.py operator_client"
                ):
                    raise CommandError(f"No active operator client {options['client_id']}.")
                self.stdout.write(f"Revoked {options['client_id']}.")
            else:
                for client in operator_clients():
                    state = "active" if client.active else f"revoked {client.revoked_at:%Y-%m-%d}"
                    used = f"{client.last_used_at:%Y-%m-%d %H:%M}" if client.last_used_at else "-"
                    self.stdout.write(f"{client.client_id}\t{client.name}\t{state}\tused {used}")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        finally:
            rls.reset()
