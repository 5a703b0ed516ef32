"""API clients: creating one (its secret shown once), revoking it, and exchanging its
credentials for an access token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import rls
from tenants.services import acting_person, audit_record, system_bypass, validate_networks

from .models import ApiClient, IdempotencyRecord
from .scopes import SCOPES
from .tokens import token_issue


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_scopes(scopes) -> list[str]:
    if not isinstance(scopes, list | tuple) or not all(isinstance(s, str) for s in scopes):
        raise ValidationError({"scopes": "Give a list of scopes."})
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError({"scopes": f"Unknown scopes: {', '.join(unknown)}."})
    return sorted(set(scopes))


@transaction.atomic
def api_client_create(
    *, tenant, name: str, scopes, allowed_networks=(), actor
) -> tuple[ApiClient, str]:
    """A new client of ``tenant`` and its secret, which is not kept (only its hash is)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the client a name."})
    secret = "sk_" + secrets.token_urlsafe(32)
    client = ApiClient(
        tenant=tenant,
        name=name[:100],
        client_id="cl_" + secrets.token_urlsafe(15),
        secret_hash=_hash(secret),
        scopes=validate_scopes(list(scopes)),
        allowed_networks=validate_networks(list(allowed_networks)),
        created_by=acting_person(actor),
    )
    client.save(force_insert=True)
    audit_record(
        action="api_client.created",
        tenant=tenant,
        actor=actor,
        target=client,
        details={"scopes": client.scopes},
    )
    return client, secret


CLIENT_EDITABLE = ("name", "scopes", "allowed_networks")


@transaction.atomic
def api_client_update(*, client: ApiClient, actor, changes: dict) -> ApiClient:
    """Rename a client or change its scopes (they apply to the tokens it gets next) or its
    networks (at once)."""
    unknown = set(changes) - set(CLIENT_EDITABLE)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()[:100]
        if not changes["name"]:
            raise ValidationError({"name": "Give the client a name."})
    if "scopes" in changes:
        changes["scopes"] = validate_scopes(list(changes["scopes"]))
    if "allowed_networks" in changes:
        changes["allowed_networks"] = validate_networks(list(changes["allowed_networks"]))
    if not changes:
        return client
    for field, value in changes.items():
        setattr(client, field, value)
    client.save(update_fields=list(changes))
    audit_record(
        action="api_client.changed",
        tenant_id=client.tenant_id,
        actor=actor,
        target=client,
        details={
            "fields": sorted(changes),
            **({"scopes": client.scopes} if "scopes" in changes else {}),
        },
    )
    return client


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor) -> bool:
    """Stops the client at once: its tokens are refused from the next request on."""
    updated = ApiClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        audit_record(
            action="api_client.revoked", tenant_id=client.tenant_id, actor=actor, target=client
        )
    return bool(updated)


class InvalidClient(Exception):
    """Unknown client, wrong secret, or revoked: the token endpoint does not say which."""


def api_client_authenticate(*, client_id: str, secret: str) -> ApiClient:
    """The active client these credentials belong to; raises InvalidClient."""
    if not client_id or not secret or len(client_id) > 40 or len(secret) > 200:
        raise InvalidClient()
    with system_bypass(reason="api client credentials"):
        client = ApiClient.objects.select_related("tenant").filter(client_id=client_id).first()
    expected = client.secret_hash if client else _hash("")
    if not hmac.compare_digest(_hash(secret), expected) or client is None or client.revoked_at:
        raise InvalidClient()
    return client


#: ``last_used_at`` is kept to the minute: not a write per token for a busy client.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_exchange(*, client: ApiClient) -> tuple[str, int]:
    """An access token for an authenticated client (audited as its use)."""
    token, ttl = token_issue(client=client)
    now = timezone.now()
    with rls.tenant_context(client.tenant_id), transaction.atomic():
        if client.last_used_at is None or client.last_used_at < now - LAST_USED_RESOLUTION:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        audit_record(
            action="api.token_issued",
            tenant_id=client.tenant_id,
            actor_label=f"api:{client.client_id}",
            target=client,
        )
    return token, ttl


def idempotency_records_prune(*, now=None) -> int:
    """Delete every tenant's Idempotency-Key answers older than API_IDEMPOTENCY_HOURS (a
    retry after that is a new request). Returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    with system_bypass(reason="idempotency records past their time"):
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
