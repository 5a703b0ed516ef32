"""Celery tasks: thin wrappers around invitations.services. Each takes the tenant id."""

from celery import shared_task

from . import services


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
    return services.accommodation_notify(request_id=request_id, tenant_id=tenant_id)
