"""Two-factor secrets (allauth.mfa's authenticators: TOTP keys, recovery-code seeds) get the
wall too: each user sees and writes only their own rows. Unlike the accounts in 0004 they stay
hidden while signing in (``identity_lookup_context``): the sign-in's code step reads them as
the one user who typed the right password (``user_context``)."""

from django.db import migrations

from core.rls import OWN_USER, rls_protect


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0010_tenant_require_two_factor"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [
        *rls_protect("mfa_authenticator", using=f"user_id = {OWN_USER}"),
    ]
