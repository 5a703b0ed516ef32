from django.apps import AppConfig


class TenantApiConfig(AppConfig):
    name = "tenant_api"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"
