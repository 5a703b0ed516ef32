from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer: database plumbing every app stands on (row-level security settings,
    asynchronous connections, per-request context) and the base of tenant-owned models. It
    imports no app of the project."""

    name = "core"
    verbose_name = "Core"
