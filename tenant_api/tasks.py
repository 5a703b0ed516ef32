"""Celery tasks of the tenant API: thin wrappers around its services."""

from celery import shared_task

from . import services


@shared_task
def prune_idempotency_records() -> int:
    """Forget Idempotency-Key answers past API_IDEMPOTENCY_HOURS (hourly, beat)."""
    return services.idempotency_records_prune()
