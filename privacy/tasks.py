"""Celery tasks of the retention policy: thin wrappers around privacy.services."""

import logging

from celery import shared_task
from django.conf import settings

from tenants.services import audit_events_prune, system_bypass

from . import selectors, services

logger = logging.getLogger(__name__)


@shared_task
def apply_retention_everywhere() -> int:
    """Queue one retention run per tenant (daily, beat), and prune the platform-level audit
    events (those of no tenant: operators' sign-ins, provisioning) past AUDIT_RETENTION_DAYS.
    Returns how many tenants were queued."""
    tenant_ids = selectors.tenant_ids()
    for tenant_id in tenant_ids:
        apply_retention.delay(str(tenant_id))
    if settings.AUDIT_RETENTION_DAYS:
        with system_bypass(reason="retention: platform audit events"):
            pruned = audit_events_prune(tenant_id=None, keep_days=settings.AUDIT_RETENTION_DAYS)
        if pruned:
            logger.info("pruned platform audit events", extra={"count": pruned})
    return len(tenant_ids)


# Idempotent, so acknowledged only once done: a worker lost halfway leaves it to another.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_retention(tenant_id: str) -> dict:
    """Apply one tenant's retention policy (``services.retention_apply``)."""
    return services.retention_apply(tenant_id=tenant_id)


@shared_task
def erase_deleted_tenants() -> int:
    """Erase every tenant whose deletion grace period is over (``services.tenant_erase``;
    beat, hourly). Returns how many were erased."""
    erased = 0
    for tenant_id in selectors.tenant_ids_due_for_erasure():
        if services.tenant_erase(tenant_id=tenant_id) is not None:
            erased += 1
    return erased
