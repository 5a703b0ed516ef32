from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core import rls
from tenants.services import tenant_create


class Command(BaseCommand):
    help = (
        "Provision a tenant (organisation) and its owner, who is emailed a link to set up their "
        "console account: the same service as the operator API's POST /api/v1/operator/tenants/."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The organisation's display name.")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--slug", default="", help="Defaults to a slug of the name.")

    def handle(self, *args, name, owner_email, slug, **options):
        try:
            tenant = tenant_create(name=name, slug=slug, owner_email=owner_email, actor=None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        finally:
            rls.reset()
        self.stdout.write(f"Created tenant {tenant.name} (slug {tenant.slug}, id {tenant.pk}).")
        self.stdout.write(
            f"{owner_email} is its owner; a new account was emailed a link to set a password."
        )
