"""Invitations remember when they expired (``expired_at``, stamped by the expiry job or the
console's "Expire"), and the expiry job's index leaves out those already stamped."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invitations", "0004_signed_rls_settings")]

    operations = [
        migrations.RemoveIndex(
            model_name="interviewinvitation",
            name="invitation_open_expiry_idx",
        ),
        migrations.AddField(
            model_name="interviewinvitation",
            name="expired_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="interviewinvitation",
            index=models.Index(
                condition=models.Q(
                    ("accepted_at__isnull", True),
                    ("expired_at__isnull", True),
                    ("revoked_at__isnull", True),
                ),
                fields=["expires_at"],
                name="invitation_open_expiry_idx",
            ),
        ),
    ]
