from django.db import migrations

from core.rls import rls_protect


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0001_initial"), ("tenants", "0004_protect_accounts")]

    # Platform credentials: no tenant, no user may read them; only the logged bypass.
    operations = [*rls_protect("provisioning_operatorclient", using="false")]
