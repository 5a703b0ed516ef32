from django.db import migrations

from core.rls import rls_enable


class Migration(migrations.Migration):
    dependencies = [("tenant_api", "0001_initial"), ("tenants", "0004_protect_accounts")]

    operations = [
        *rls_enable("tenant_api_apiclient"),
        *rls_enable("tenant_api_idempotencyrecord"),
    ]
