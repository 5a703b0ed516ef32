from django.db import migrations

from core.rls import rls_enable


class Migration(migrations.Migration):
    # After the signed settings (tenants 0003): rls_enable writes policies that call them.
    dependencies = [("webhooks", "0001_initial"), ("tenants", "0008_tenant_video_enabled")]

    operations = [
        *rls_enable("webhooks_webhookendpoint"),
        *rls_enable("webhooks_webhookdelivery"),
    ]
