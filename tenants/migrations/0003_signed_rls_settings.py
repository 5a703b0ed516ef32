"""The policies believe only signed settings (see core.rls): a tenant, user or bypass that
the application role sets for itself in SQL no longer opens anything."""

from django.db import migrations

from core.rls import (
    USER_MEMBERSHIP_READ,
    USER_TENANT_READ,
    rls_functions,
    rls_sign_policies,
)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_row_level_security")]

    operations = [
        *rls_functions(),
        *rls_sign_policies("tenants_tenant", column="id", extra_read=USER_TENANT_READ),
        *rls_sign_policies("tenants_membership", extra_read=USER_MEMBERSHIP_READ),
        *rls_sign_policies("tenants_auditevent"),
    ]
