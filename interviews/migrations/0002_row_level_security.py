from django.db import migrations

from core.rls import append_only, rls_enable

TABLES = [
    "interviews_candidate",
    "interviews_consent",
    "interviews_interviewtemplate",
    "interviews_templatequestion",
    "interviews_rubriccriterion",
    "interviews_interviewsession",
    "interviews_transcriptentry",
    "interviews_videosegment",
    "interviews_sessionsummary",
    "interviews_sessionevent",
]


class Migration(migrations.Migration):
    dependencies = [("interviews", "0001_initial"), ("tenants", "0002_row_level_security")]

    operations = [
        *[op for table in TABLES for op in rls_enable(table)],
        # Timeline rows are never edited; they go only with their session (retention).
        *append_only("interviews_sessionevent", allow_delete=True),
    ]
