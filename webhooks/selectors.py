"""Reads for outgoing webhooks."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from tenants.models import Membership, Role

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def endpoints_of(tenant_id) -> list[WebhookEndpoint]:
    """The tenant's endpoints, newest first (for the API's list)."""
    return list(WebhookEndpoint.objects.filter(tenant_id=tenant_id))


def endpoint_of(tenant_id, endpoint_id) -> WebhookEndpoint | None:
    """The tenant's endpoint with this id; None for a missing id and for another tenant's
    alike, so that an answer never tells them apart."""
    return WebhookEndpoint.objects.filter(tenant_id=tenant_id, pk=endpoint_id).first()


def deliveries_of(tenant_id, *, endpoint_id=None, limit: int = 100) -> list[WebhookDelivery]:
    """The tenant's latest deliveries (of one endpoint, if given), newest first."""
    rows = WebhookDelivery.objects.filter(tenant_id=tenant_id).select_related("endpoint")
    if endpoint_id is not None:
        rows = rows.filter(endpoint_id=endpoint_id)
    return list(rows.order_by("-created_at")[:limit])


def endpoints_subscribed(*, tenant_id, event_type: str) -> list[WebhookEndpoint]:
    """The tenant's enabled endpoints that receive ``event_type`` (tenant context set)."""
    return list(
        WebhookEndpoint.objects.filter(
            tenant_id=tenant_id, is_enabled=True, events__contains=[event_type]
        )
    )


def deliveries_due(*, now=None, limit: int = 500) -> list[tuple[str, str]]:
    """``(delivery id, tenant id)`` of every delivery whose next attempt is due, across tenants
    (the caller holds the system bypass), oldest first."""
    now = now or timezone.now()
    return [
        (str(pk), str(tenant_id))
        for pk, tenant_id in WebhookDelivery.objects.filter(
            Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.FAILED),
            next_attempt_at__lte=now,
            endpoint__is_enabled=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", "tenant_id")[:limit]
    ]


def owner_emails(tenant_id) -> list[str]:
    """The addresses of the tenant's owners (tenant context set)."""
    return list(
        Membership.objects.filter(tenant_id=tenant_id, role=Role.OWNER)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
