"""The audit trail: appending events, each with the IP and request id of the current request."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core import requestcontext

from ..models import AUDIT_MIN_RETENTION_DAYS, AuditEvent, Tenant


def audit_record(
    *,
    action: str,
    tenant: Tenant | None = None,
    tenant_id=None,
    actor=None,
    actor_label: str = "system",
    target=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the audit trail. IP and request id come from the current request.

    ``details`` must not carry personal data beyond what the target's own row holds (field
    names, not values), so that deleting a candidate under the retention policy leaves no copy.
    ``actor_label`` names who acted when no signed-in ``actor`` did.
    """
    event = _audit_event(
        action=action,
        tenant=tenant,
        tenant_id=tenant_id,
        actor=actor,
        actor_label=actor_label,
        target=target,
        details=details,
    )
    event.save(force_insert=True)
    return event


def acting_person(actor):
    """The signed-in person behind ``actor``, for a row's "created by": None for the system or
    an API client acting for its company (the audit trail names the client)."""
    if not getattr(actor, "is_authenticated", False) or getattr(actor, "audit_actor_label", None):
        return None
    return actor


def audit_record_many(events: list[dict]) -> list[AuditEvent]:
    """Append several events (each given as ``audit_record``'s arguments) in one INSERT."""
    return AuditEvent.objects.bulk_create([_audit_event(**event) for event in events])


def _audit_event(
    *,
    action,
    tenant=None,
    tenant_id=None,
    actor=None,
    actor_label="system",
    target=None,
    details=None,
) -> AuditEvent:
    # Not a person: an API client acting for its tenant names itself.
    actor_label = getattr(actor, "audit_actor_label", None) or actor_label
    actor = acting_person(actor)
    event = AuditEvent(
        tenant=tenant,
        actor=actor,
        actor_label=(actor.get_username() if actor else actor_label)[:254],
        action=action,
        ip=requestcontext.client_ip.get(),
        request_id=requestcontext.request_id.get()[:64],
        details=details or {},
    )
    if tenant is None and tenant_id is not None:
        event.tenant_id = tenant_id
    if target is not None:
        event.target_type = target._meta.label_lower
        event.target_id = str(target.pk)
        # A model whose name holds personal data says how the trail names it (audit_label).
        event.target_repr = (getattr(target, "audit_label", None) or str(target))[:200]
    return event


def audit_events_prune(*, tenant_id, keep_days: int, now=None) -> int:
    """Delete ``tenant_id``'s audit events older than ``keep_days`` (the platform-level ones,
    with no tenant, for ``tenant_id=None``, which needs the bypass). Returns how many went.

    Never fewer than AUDIT_MIN_RETENTION_DAYS: the database refuses to delete a younger event
    anyway, and this refuses to ask."""
    if keep_days < AUDIT_MIN_RETENTION_DAYS:
        raise ValueError(f"Audit events are kept at least {AUDIT_MIN_RETENTION_DAYS} days.")
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    deleted, _ = AuditEvent.objects.filter(tenant_id=tenant_id, created_at__lt=cutoff).delete()
    return deleted
