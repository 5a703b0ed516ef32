from django.core.checks import Error, Tags, register
from django.db import connections


@register(Tags.database)
def check_application_role(app_configs=None, databases=None, **kwargs):
    """`manage.py check --database default`: the application's role must be subject to RLS."""
    errors = []
    for alias in databases or []:
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
            superuser, bypass = cursor.fetchone()
        if superuser or bypass:
            errors.append(
                Error(
                    "The application connects as a role that bypasses row-level security.",
                    hint="Point DATABASE_URL at a role with NOSUPERUSER NOBYPASSRLS that does "
                    "not own the tables; use DATABASE_OWNER_URL for migrations.",
                    id="tenants.E001",
                )
            )
    return errors
