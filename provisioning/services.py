"""Operator API clients (created, revoked, their credentials exchanged for a token) and the
network check every operator call passes. The tenant operations themselves are the tenants
services (tenant_create, tenant_update_settings, tenant_suspend...), called by the views."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants.selectors import networks_allow
from tenants.services import audit_record, system_bypass

from .models import OperatorClient
from .tokens import operator_token_issue


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def operator_network_allowed(ip: str | None) -> bool:
    """Whether the operator API answers a call from ``ip``: OPERATOR_API_ALLOWED_NETWORKS, else
    the operators' own OPERATOR_ALLOWED_NETWORKS (as a tenant API client's list falls back to
    its company's); with neither, every network, except in production where none."""
    networks = list(settings.OPERATOR_API_ALLOWED_NETWORKS or settings.OPERATOR_ALLOWED_NETWORKS)
    if not networks:
        return not settings.OPERATOR_API_NETWORKS_REQUIRED
    return networks_allow(networks, ip)


@transaction.atomic
def operator_client_create(*, name: str, actor_label: str = "system") -> tuple[OperatorClient, str]:
    """A new operator client and its secret, which is not kept (only its hash is)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the client a name."})
    secret = "osk_" + secrets.token_urlsafe(32)
    with system_bypass(reason="operator client create"):
        client = OperatorClient(
            name=name[:100],
            client_id="op_" + secrets.token_urlsafe(15),
            secret_hash=_hash(secret),
        )
        client.save(force_insert=True)
        audit_record(action="operator_client.created", actor_label=actor_label, target=client)
    return client, secret


@transaction.atomic
def operator_client_revoke(*, client_id: str, actor_label: str = "system") -> bool:
    """Stop a client at once: its tokens are refused from the next request on. False when no
    active client has that id."""
    with system_bypass(reason="operator client revoke"):
        client = OperatorClient.objects.filter(client_id=client_id, revoked_at__isnull=True).first()
        if client is None:
            return False
        client.revoked_at = timezone.now()
        client.save(update_fields=["revoked_at"])
        audit_record(action="operator_client.revoked", actor_label=actor_label, target=client)
    return True


def operator_clients() -> list[OperatorClient]:
    """Every operator client, revoked ones too (for the command's list)."""
    with system_bypass(reason="operator client list"):
        return list(OperatorClient.objects.order_by("created_at"))


def operator_client_authenticate(*, client_id: str, secret: str) -> OperatorClient | None:
    """The active client these credentials belong to, else None (which of unknown, wrong
    secret or revoked is not said)."""
    if not client_id or not secret or len(client_id) > 40 or len(secret) > 200:
        return None
    with system_bypass(reason="operator client credentials"):
        found = OperatorClient.objects.filter(client_id=client_id).first()
    expected = found.secret_hash if found else _hash("")
    if not hmac.compare_digest(_hash(secret), expected) or not found or not found.active:
        return None
    return found


def operator_token_exchange(*, client: OperatorClient) -> tuple[str, int]:
    """An access token for an authenticated client (audited at platform level)."""
    token, ttl = operator_token_issue(client=client)
    with system_bypass(reason="operator token"):
        OperatorClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
        audit_record(
            action="operator_api.token_issued",
            actor_label=f"operator-api:{client.client_id}",
            target=client,
        )
    return token, ttl


def operator_client_for_token(client_pk: str) -> OperatorClient | None:
    """The active client a verified token names, else None (revoked since, or gone)."""
    with system_bypass(reason="operator token check"):
        client = OperatorClient.objects.filter(pk=client_pk).first()
    return client if client is not None and client.active else None
