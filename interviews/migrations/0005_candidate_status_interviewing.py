from django.db import migrations, models

# The statuses a decision sets (services.DECISION_STATUS), as of this migration.
_DECISION_STATUS = {"advance": "advanced", "hold": "on_hold", "reject": "rejected"}


def follow_existing_progress(apps, schema_editor):
    """Candidates whose status was never moved past "New"/"Invited" by their interviews get
    the status their sessions imply (the rule of services.candidate_status_after, applied to
    what is already recorded). Statuses a recruiter set by hand are left alone."""
    Candidate = apps.get_model("interviews", "Candidate")
    InterviewSession = apps.get_model("interviews", "InterviewSession")
    behind = Candidate.objects.filter(status__in=["new", "invited"])
    for candidate in behind.iterator():
        sessions = InterviewSession.objects.filter(candidate=candidate)
        decided = sessions.exclude(decision="").order_by("-decided_at").first()
        if decided is not None:
            status = _DECISION_STATUS[decided.decision]
        elif sessions.filter(started_at__isnull=False, ended_at__isnull=False).exists():
            status = "interviewed"
        elif sessions.filter(status__in=["connecting", "live"], started_at__isnull=False).exists():
            status = "interviewing"
        else:
            continue
        Candidate.objects.filter(pk=candidate.pk).update(status=status)


class Migration(migrations.Migration):
    dependencies = [
        ("interviews", "0004_signed_rls_settings"),
    ]

    operations = [
        migrations.AlterField(
            model_name="candidate",
            name="status",
            field=models.CharField(
                choices=[
                    ("new", "New"),
                    ("invited", "Invited"),
                    ("interviewing", "Interviewing"),
                    ("interviewed", "Interviewed"),
                    ("advanced", "Advanced"),
                    ("on_hold", "On hold"),
                    ("rejected", "Rejected"),
                    ("withdrawn", "Withdrawn"),
                ],
                default="new",
                max_length=16,
            ),
        ),
        migrations.RunPython(follow_existing_progress, migrations.RunPython.noop),
    ]
