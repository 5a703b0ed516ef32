"""The audit trail named candidates (and their sessions, invitations and requests) by name and
address, in a table nothing may edit, so erasing a candidate left them there. Earlier events
get the labels new ones have (the models' ``audit_label``); the append-only trigger is lifted
for this one statement, by the schema owner, in this migration's transaction."""

from django.db import migrations

LABELS = {
    "interviews.candidate": "Candidate",
    "interviews.interviewsession": "Interview session",
    "invitations.interviewinvitation": "Invitation",
    "invitations.accommodationrequest": "Accommodation request",
}
_CASES = " ".join(f"WHEN '{kind}' THEN '{label} '" for kind, label in LABELS.items())
_KINDS = ", ".join(f"'{kind}'" for kind in LABELS)
FORWARD = f"""
ALTER TABLE tenants_auditevent DISABLE TRIGGER tenants_auditevent_append_only;
UPDATE tenants_auditevent SET target_repr = (CASE target_type {_CASES} END) || left(target_id, 8)
    WHERE target_type IN ({_KINDS});
ALTER TABLE tenants_auditevent ENABLE TRIGGER tenants_auditevent_append_only;
"""  # noqa: S608 (constants)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_protect_accounts")]

    operations = [migrations.RunSQL(FORWARD, migrations.RunSQL.noop)]
