"""Celery tasks of outgoing webhooks: thin wrappers around services. Each takes its tenant
id."""

import logging

from celery import shared_task

from tenants.services import system_bypass

from . import selectors, services

logger = logging.getLogger(__name__)


# Safe to run twice (services.delivery_attempt claims the delivery first), so a worker that
# dies mid-attempt leaves the message for another.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_delivery(delivery_id: str, tenant_id: str) -> str:
    """Make one attempt at a delivery, if it is due; the service schedules the next."""
    return services.delivery_attempt(delivery_id=delivery_id, tenant_id=tenant_id)


@shared_task
def send_due_deliveries() -> int:
    """Queue every delivery whose next attempt is due (every minute, beat): later retries,
    and any whose message was lost. Returns how many were queued."""
    with system_bypass(reason="webhooks: deliveries due"):
        due = selectors.deliveries_due()
    for delivery_id, tenant_id in due:
        send_delivery.delay(delivery_id, tenant_id)
    return len(due)


@shared_task
def notify_endpoint_disabled(endpoint_id: str, tenant_id: str) -> int:
    """Email the tenant's owners that an endpoint was disabled after sustained failure."""
    return services.endpoint_disabled_notify(endpoint_id=endpoint_id, tenant_id=tenant_id)


@shared_task
def prune_deliveries() -> int:
    """Delete the delivery log past WEBHOOKS_DELIVERY_LOG_DAYS (daily, beat)."""
    with system_bypass(reason="webhooks: delivery log retention"):
        deleted = services.deliveries_prune()
    if deleted:
        logger.info("pruned webhook deliveries", extra={"count": deleted})
    return deleted
