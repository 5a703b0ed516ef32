from django.db import migrations

from core.rls import rls_enable


class Migration(migrations.Migration):
    dependencies = [("invitations", "0001_initial"), ("tenants", "0002_row_level_security")]

    operations = [
        *rls_enable("invitations_interviewinvitation"),
        *rls_enable("invitations_accommodationrequest"),
    ]
