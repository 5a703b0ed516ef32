"""The functions the policies call run with their search_path pinned (see core.rls): a
database migrated before that gets them made again."""

from django.db import migrations

from core.rls import rls_functions


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_audit_labels_without_names")]

    operations = [*rls_functions()]
