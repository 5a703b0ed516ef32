import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core import rls
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Provision a tenant (organisation) and its owner's console login."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The organisation's display name.")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--slug", default="", help="Defaults to a slug of the name.")
        parser.add_argument(
            "--owner-password",
            default="",
            help="Set this password for a newly created owner (default: a random one, printed).",
        )

    def handle(self, *args, name, owner_email, slug, owner_password, **options):
        try:
            tenant = tenant_create(name=name, slug=slug, owner_email=owner_email)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Created tenant {tenant.name} (slug {tenant.slug}, id {tenant.pk}).")
        with rls.identity_lookup_context():
            user = get_user_model().objects.get(email__iexact=owner_email)
            if not user.has_usable_password():
                password = owner_password or secrets.token_urlsafe(12)
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"Owner login: {user.get_username()} / {password}")
            else:
                self.stdout.write(f"Owner {user.get_username()} already had a login; unchanged.")
        rls.reset()
