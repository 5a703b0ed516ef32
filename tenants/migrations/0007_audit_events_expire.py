"""The audit trail stays append-only - no UPDATE ever, for any role - but an event older than
the legal minimum (183 days, about six months) may now be deleted, so that the trail, which
keeps IP addresses, does not grow forever (``tenants.services.audit_events_prune``, run by the
daily retention job). The minimum is the database's own rule: no code, and no query, can
delete a younger event."""

from django.db import migrations

# tenants.models.AUDIT_MIN_RETENTION_DAYS; written out here, as a migration must not change
# with the code.
FORWARD = """
CREATE OR REPLACE FUNCTION tenants_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.created_at < now() - interval '183 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'tenants_auditevent is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION tenants_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tenants_auditevent is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
ALTER FUNCTION tenants_auditevent_append_only() RESET search_path;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0006_pin_rls_function_search_path")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
