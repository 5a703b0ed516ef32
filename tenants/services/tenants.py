"""Tenants: provisioning one with its owner, and the settings its owners (and operators) change."""

from __future__ import annotations

from ipaddress import ip_network

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from core import rls

from ..models import Membership, Role, Tenant
from .audit import audit_record
from .bypass import system_bypass
from .memberships import _staff_user_for_email


@transaction.atomic
def tenant_create(*, name: str, slug: str = "", owner_email: str, actor=None) -> Tenant:
    """Provision a tenant and its owner (a staff user with that email, created if new)."""
    slug = slugify(slug or name)
    if not slug:
        raise ValidationError({"slug": "A tenant needs a name or slug made of letters/digits."})
    with system_bypass(reason="tenant_create"):
        if Tenant.objects.filter(slug=slug).exists():
            raise ValidationError({"slug": f"A tenant with slug {slug!r} already exists."})
        tenant = Tenant.objects.create(name=name, slug=slug)
        with rls.tenant_context(tenant.pk):
            owner = _staff_user_for_email(owner_email)
            Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
            audit_record(
                action="tenant.created",
                tenant=tenant,
                actor=actor,
                target=tenant,
                details={"owner": owner.get_username()},
            )
    return tenant


TENANT_EDITABLE_FIELDS = (
    "name",
    "retention_days",
    "invitation_expiry_days",
    "allowed_admin_networks",
    "branding",
    "video_enabled",
    "default_model",
    "default_voice",
    "default_language",
)


def validate_networks(networks) -> list[str]:
    if not isinstance(networks, list):
        raise ValidationError({"allowed_admin_networks": "Give a list of CIDR ranges."})
    cleaned = []
    for value in networks:
        try:
            cleaned.append(str(ip_network(str(value), strict=False)))
        except ValueError as exc:
            raise ValidationError(
                {"allowed_admin_networks": f"{value!r} is not a CIDR range."}
            ) from exc
    return cleaned


OPERATOR_ONLY_FIELDS = ("slug", "status")


@transaction.atomic
def tenant_update_settings(
    *, tenant: Tenant, actor, changes: dict, operator: bool = False
) -> Tenant:
    """Apply settings changes an owner/admin made to their tenant (a platform operator may
    also change its slug and status)."""
    allowed = set(TENANT_EDITABLE_FIELDS) | (set(OPERATOR_ONLY_FIELDS) if operator else set())
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    if "allowed_admin_networks" in changes:
        changes["allowed_admin_networks"] = validate_networks(changes["allowed_admin_networks"])
    stored = Tenant.objects.values(*changes).get(pk=tenant.pk) if changes else {}
    changes = {field: value for field, value in changes.items() if stored[field] != value}
    for field, value in changes.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    if changes:
        tenant.save(update_fields=[*changes, "updated_at"])
        audit_record(
            action="tenant.settings_changed",
            tenant=tenant,
            actor=actor,
            target=tenant,
            details={"fields": sorted(changes)},
        )
    return tenant
