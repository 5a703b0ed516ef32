from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organisation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import signals
        from django.contrib.auth.models import update_last_login

        from . import checks  # noqa: F401  (registers system checks)
        from .services import user_record_login

        # Django's own receiver writes last_login with no account visible to it (auth_user is
        # behind the database wall); ours writes it as the user who just signed in.
        signals.user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        signals.user_logged_in.connect(user_record_login, dispatch_uid="update_last_login")
