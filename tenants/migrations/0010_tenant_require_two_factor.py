from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0009_tenant_deletion"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="require_two_factor",
            field=models.BooleanField(
                default=False,
                db_default=False,  # rows written by the previous release during a deploy
                help_text="Members must sign in to the console with a code from an "
                "authenticator app (two-factor authentication) as well as their password.",
            ),
        ),
    ]
