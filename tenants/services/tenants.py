"""Tenants: provisioning one with its owner, and the settings its owners (and operators) change."""

from __future__ import annotations

import logging
from datetime import timedelta
from ipaddress import ip_network

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from core import requestcontext, rls

from .. import selectors
from ..models import Membership, Role, Tenant, TenantStatus
from .audit import audit_record
from .bypass import system_bypass
from .memberships import _staff_user_for_email

logger = logging.getLogger("tenants.services")


@transaction.atomic
def tenant_create(
    *, name: str, slug: str = "", owner_email: str, actor=None, settings_: dict | None = None
) -> Tenant:
    """Provision a tenant and its owner (a staff user with that email, created if new), with
    ``settings_`` (TENANT_EDITABLE_FIELDS) validated as ``tenant_update_settings`` does. An
    owner who has no password yet is emailed a link to set one, once the tenant is committed.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the company a name."})
    slug = slugify(slug or name)
    if not slug:
        raise ValidationError({"slug": "A tenant needs a name or slug made of letters/digits."})
    changes = dict(settings_ or {})
    unknown = set(changes) - set(TENANT_EDITABLE_FIELDS) - {"name"}
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    if "allowed_admin_networks" in changes:
        changes["allowed_admin_networks"] = validate_networks(changes["allowed_admin_networks"])
    with system_bypass(reason="tenant_create"):
        if Tenant.objects.filter(slug=slug).exists():
            raise ValidationError({"slug": f"A tenant with slug {slug!r} already exists."})
        tenant = Tenant(name=name, slug=slug, **changes)
        tenant.full_clean(validate_unique=False)
        tenant.save(force_insert=True)
        with rls.tenant_context(tenant.pk):
            owner = _staff_user_for_email(owner_email)
            Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
            audit_record(
                action="tenant.created",
                tenant=tenant,
                actor=actor,
                target=tenant,
                details={"owner": owner.get_username(), "settings": sorted(changes)},
            )
    if not owner.has_usable_password():
        transaction.on_commit(lambda: _owner_setup_send(user=owner, tenant=tenant))
    return tenant


def _owner_setup_send(*, user, tenant: Tenant) -> None:
    # After the commit: the tenant exists whatever the mail server says, so a failure is logged
    # (an operator can then set the password: manage.py changepassword) rather than raised.
    try:
        with system_bypass(reason="owner setup email"):
            fresh = type(user).objects.filter(pk=user.pk).first()
        if fresh is None or fresh.has_usable_password():
            return  # a password was set in the same transaction (the demo's seed sets its own)
        owner_setup_email(user=fresh, tenant=tenant).send()
    except Exception:
        logger.exception("owner setup email not sent", extra={"tenant": str(tenant.pk)})


def owner_setup_link(user) -> str:
    """A link to the console's set-password page for ``user``: Django's password-reset token,
    which stops working once a password is set or after PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("console_account_setup", args=[uid, token])


def owner_setup_email(*, user, tenant: Tenant) -> EmailMultiAlternatives:
    """The email a new tenant's owner gets: set a password, then sign in to the console."""
    context = {
        "tenant": tenant,
        "link": owner_setup_link(user),
        "login_url": settings.SITE_URL + reverse("console_login"),
        "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    return EmailMultiAlternatives(
        subject=f"Set up your {tenant.name} interview console account",
        body=render_to_string("tenants/email/owner_setup.txt", context),
        to=[user.email],
        headers={"Auto-Submitted": "auto-generated"},
    )


TENANT_EDITABLE_FIELDS = (
    "name",
    "retention_days",
    "invitation_expiry_days",
    "allowed_admin_networks",
    "require_two_factor",
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

#: The confirmation a member gives to save a network list that leaves out their own address.
LOCKOUT_CONFIRMATION = "I understand I will lose access to the console from this address"


def tenant_networks_exclude_address(networks: list[str], ip: str | None) -> str | None:
    """The address a member is saving ``networks`` from, when that list would refuse it (so
    saving it locks them out of the console from there); None when it is allowed."""
    if not networks or selectors.networks_allow(networks, ip):
        return None
    return ip or "unknown"


@transaction.atomic
def tenant_update_settings(
    *,
    tenant: Tenant,
    actor,
    changes: dict,
    operator: bool = False,
    lockout_confirmed: bool = False,
) -> Tenant:
    """Apply settings changes an owner/admin made to their tenant (a platform operator may
    also change its slug and status).

    A member saving a network list that leaves out the address they save it from would lock
    themselves out of the console at once: refused unless ``lockout_confirmed``. (Operators
    are held to OPERATOR_ALLOWED_NETWORKS instead, so they are not asked.) A change of the
    list is recorded on its own as well, with the lists before and after."""
    allowed = set(TENANT_EDITABLE_FIELDS) | (set(OPERATOR_ONLY_FIELDS) if operator else set())
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    if "allowed_admin_networks" in changes:
        changes["allowed_admin_networks"] = validate_networks(changes["allowed_admin_networks"])
    stored = Tenant.objects.values(*changes).get(pk=tenant.pk) if changes else {}
    changes = {field: value for field, value in changes.items() if stored[field] != value}
    networks = changes.get("allowed_admin_networks")
    if networks is not None and not operator and not lockout_confirmed:
        excluded = tenant_networks_exclude_address(networks, requestcontext.client_ip.get())
        if excluded:
            raise ValidationError(
                {
                    "allowed_admin_networks": ValidationError(
                        f"This list does not include your address {excluded}; tick "
                        f"'{LOCKOUT_CONFIRMATION}' to save it anyway.",
                        code="excludes_own_address",
                    )
                }
            )
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
    if networks is not None:
        audit_record(
            action="tenant.allowlist_changed",
            tenant=tenant,
            actor=actor,
            target=tenant,
            details={
                "before": stored["allowed_admin_networks"],
                "after": networks,
                "own_address_excluded": bool(
                    tenant_networks_exclude_address(networks, requestcontext.client_ip.get())
                ),
            },
        )
    return tenant


# --- Suspension and deletion (platform operators) -------------------------------------------


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, actor, reason: str = "") -> Tenant:
    """Refuse the tenant's console users, candidates' new interviews and API clients from now
    on; interviews already on a call carry on to their end."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.deleted_at is not None:
        raise ValidationError("This company was deleted.", code="tenant_deleted")
    if locked.status != TenantStatus.SUSPENDED:
        locked.status = TenantStatus.SUSPENDED
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            action="tenant.suspended",
            tenant=locked,
            actor=actor,
            target=locked,
            details={"reason": reason[:200]} if reason else {},
        )
    return locked


@transaction.atomic
def tenant_resume(*, tenant: Tenant, actor) -> Tenant:
    """Undo a suspension; within the deletion grace period this also cancels the deletion."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.deleted_at is not None:
        raise ValidationError("This company was deleted.", code="tenant_deleted")
    cancelled = locked.deletion_requested_at is not None
    if locked.status != TenantStatus.ACTIVE or cancelled:
        locked.status = TenantStatus.ACTIVE
        locked.deletion_requested_at = None
        locked.save(update_fields=["status", "deletion_requested_at", "updated_at"])
        audit_record(
            action="tenant.resumed",
            tenant=locked,
            actor=actor,
            target=locked,
            details={"deletion_cancelled": cancelled},
        )
    return locked


@transaction.atomic
def tenant_deletion_request(*, tenant: Tenant, actor) -> Tenant:
    """Suspend the tenant and have its data deleted once TENANT_DELETION_GRACE_DAYS have gone
    by (privacy.tasks.erase_deleted_tenants); ``tenant_resume`` before then cancels it."""
    locked = tenant_suspend(tenant=tenant, actor=actor, reason="deletion requested")
    if locked.deletion_requested_at is None:
        locked.deletion_requested_at = timezone.now()
        locked.save(update_fields=["deletion_requested_at", "updated_at"])
        audit_record(
            action="tenant.deletion_requested",
            tenant=locked,
            actor=actor,
            target=locked,
            details={"grace_days": settings.TENANT_DELETION_GRACE_DAYS},
        )
    return locked


def tenant_deletion_due_at(tenant: Tenant):
    """When the tenant's data is deleted, or None when no deletion was asked for."""
    if tenant.deletion_requested_at is None:
        return None
    return tenant.deletion_requested_at + timedelta(days=settings.TENANT_DELETION_GRACE_DAYS)
