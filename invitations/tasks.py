"""Celery tasks: thin wrappers around invitations.services. Each takes the tenant id."""

import logging

from celery import shared_task

from . import accommodations, selectors, services

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def deliver_invitation(invitation_id: str, tenant_id: str) -> bool:
    """Email an invitation; failures are recorded on it and retried with backoff."""
    return services.invitation_deliver(invitation_id=invitation_id, tenant_id=tenant_id) is not None


@shared_task(autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=600, retry_jitter=True)
def notify_accommodation_request(request_id: str, tenant_id: str) -> int:
    return accommodations.accommodation_notify(request_id=request_id, tenant_id=tenant_id)


@shared_task
def expire_invitations() -> int:
    """Stamp open invitations whose expiry date has passed as expired, each in its tenant and
    in its audit trail. Runs every few minutes (beat); the link itself stops working at the
    expiry time regardless."""
    expired = sum(
        services.invitation_expire_due(invitation_id=invitation_id, tenant_id=tenant_id)
        for invitation_id, tenant_id in selectors.invitations_past_expiry()
    )
    if expired:
        logger.info("expired invitations", extra={"count": expired})
    return expired
