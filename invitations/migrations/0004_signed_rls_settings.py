"""The invitation tables' policies believe only signed settings (see core.rls). The token
lookup can no longer lift the policy by setting the bypass flag (the application role could
do the same); it runs as the schema owner instead, which the policies let through."""

from django.db import migrations

from core.rls import rls_sign_policies

FORWARD = """
DROP FUNCTION IF EXISTS invitation_token_lookup(text);
CREATE FUNCTION invitation_token_lookup(digest text)
RETURNS TABLE (id uuid, tenant_id uuid, token_hash varchar)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.id, i.tenant_id, i.token_hash
    FROM public.invitations_interviewinvitation i
    WHERE i.token_hash = digest
$$;
"""

# As 0003 made it.
BACKWARD = """
DROP FUNCTION IF EXISTS invitation_token_lookup(text);
CREATE FUNCTION invitation_token_lookup(digest text)
RETURNS TABLE (id uuid, tenant_id uuid, token_hash varchar)
LANGUAGE plpgsql VOLATILE
AS $fn$
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
$fn$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0003_token_lookup_function"),
        ("tenants", "0003_signed_rls_settings"),
    ]

    operations = [
        *rls_sign_policies("invitations_interviewinvitation"),
        *rls_sign_policies("invitations_accommodationrequest"),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
