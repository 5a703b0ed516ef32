from django.db import migrations

from core.rls import (
    USER_MEMBERSHIP_READ,
    USER_TENANT_READ,
    append_only,
    rls_enable,
    rls_functions,
)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        # The policies call these (a database migrated before they existed gets them in 0003).
        *rls_functions(),
        *rls_enable("tenants_tenant", column="id", extra_read=USER_TENANT_READ),
        *rls_enable("tenants_membership", extra_read=USER_MEMBERSHIP_READ),
        *rls_enable("tenants_auditevent"),
        *append_only("tenants_auditevent"),
    ]
