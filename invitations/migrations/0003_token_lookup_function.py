from django.db import migrations

# The one read a candidate makes before any tenant is known: "which invitation has this token
# hash?". A narrow function answers exactly that (id, tenant, hash) in one round trip, lifting
# the tenant policy only while it runs. (A function-level SET clause would be neater, but
# PostgreSQL reserves SET of custom parameters in function definitions to superusers.) If the
# query fails, the statement's rollback restores the setting.
FORWARD = """
CREATE FUNCTION invitation_token_lookup(digest text)
RETURNS TABLE (id uuid, tenant_id uuid, token_hash varchar)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
    previous text := coalesce(current_setting('app.rls_bypass', true), '');
BEGIN
    PERFORM set_config('app.rls_bypass', 'on', false);
    RETURN QUERY
        SELECT i.id, i.tenant_id, i.token_hash
        FROM invitations_interviewinvitation i
        WHERE i.token_hash = digest;
    PERFORM set_config('app.rls_bypass', previous, false);
END
$$;
"""
BACKWARD = "DROP FUNCTION IF EXISTS invitation_token_lookup(text);"


class Migration(migrations.Migration):
    dependencies = [("invitations", "0002_row_level_security")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
