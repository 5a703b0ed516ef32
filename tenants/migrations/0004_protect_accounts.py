"""Personal data outside the tenants' tables gets a wall too: accounts (auth_user, email
addresses, social accounts and their tokens) are visible to their own user, to the members
of the tenant being worked in (its members' accounts), and while signing in
(``identity_lookup_context``); a browser session only to the request holding its key; the
admin's own change log only to the user who wrote it. Nothing of these is readable by a query
that set nothing, or set something it could not sign."""

from django.db import migrations

from core.rls import IDENTITY_LOOKUP, OWN_USER, SESSION_KEY, TENANT_MEMBER_USERS, rls_protect

OWN_ACCOUNT_ROWS = f"user_id = {OWN_USER} OR {IDENTITY_LOOKUP}"


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_signed_rls_settings"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("socialaccount", "0006_alter_socialaccount_extra_data"),
        ("sessions", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        *rls_protect(
            "auth_user",
            using=f"id = {OWN_USER} OR {IDENTITY_LOOKUP} OR id IN ({TENANT_MEMBER_USERS})",
            check=f"id = {OWN_USER} OR {IDENTITY_LOOKUP}",
        ),
        *rls_protect("account_emailaddress", using=OWN_ACCOUNT_ROWS),
        *rls_protect(
            "account_emailconfirmation",
            using="email_address_id IN (SELECT id FROM account_emailaddress)",
        ),
        *rls_protect("socialaccount_socialaccount", using=OWN_ACCOUNT_ROWS),
        *rls_protect(
            "socialaccount_socialtoken",
            using="account_id IN (SELECT id FROM socialaccount_socialaccount)",
        ),
        *rls_protect("django_session", using=f"session_key = {SESSION_KEY}"),
        # The console writes its changes to the audit trail instead (without names); what the
        # admin logged before goes, with the candidates' names and addresses in it.
        *rls_protect("django_admin_log", using=f"user_id = {OWN_USER}"),
        migrations.RunSQL("DELETE FROM django_admin_log", migrations.RunSQL.noop),
    ]
