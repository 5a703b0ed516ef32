"""The interview tables' policies believe only signed settings (see core.rls), and a
candidate's account is visible in the tenant the candidate belongs to (the console shows it)."""

from django.db import migrations

from core.rls import TENANT_MATCH, rls_sign_policies

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

_CANDIDATE_USERS = "SELECT user_id FROM interviews_candidate WHERE tenant_id = " + TENANT_MATCH  # noqa: S608
CANDIDATE_ACCOUNTS = (
    f"CREATE POLICY tenant_candidates ON auth_user FOR SELECT USING (id IN ({_CANDIDATE_USERS}))"
)


class Migration(migrations.Migration):
    dependencies = [
        ("interviews", "0003_session_realtime_config"),
        ("tenants", "0004_protect_accounts"),
    ]

    operations = [
        *[op for table in TABLES for op in rls_sign_policies(table)],
        migrations.RunSQL(
            CANDIDATE_ACCOUNTS, "DROP POLICY IF EXISTS tenant_candidates ON auth_user"
        ),
    ]
