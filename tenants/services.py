"""Writes for tenants, memberships and the audit trail."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from ipaddress import ip_network

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django_ratelimit.core import get_usage

from core import requestcontext, rls

from . import selectors
from .models import AUDIT_MIN_RETENTION_DAYS, AuditEvent, Membership, Role, Tenant

logger = logging.getLogger(__name__)
User = get_user_model()


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
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
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


@contextmanager
def operator_bypass(*, actor, reason: str, audit: bool = True) -> Iterator[None]:
    """A platform operator (Django superuser) sees every tenant. The only way in for a person,
    and it is recorded."""
    if not (actor and actor.is_active and actor.is_superuser):
        raise PermissionError("Only platform operators may bypass tenant isolation.")
    with rls.bypass_context():
        if audit:
            audit_record(action="operator.bypass", actor=actor, details={"reason": reason})
        yield


@contextmanager
def system_bypass(*, reason: str) -> Iterator[None]:
    """For jobs and commands that work across tenants (provisioning, retention). Logged."""
    logger.debug("rls bypass", extra={"reason": reason})
    with rls.bypass_context():
        yield


def operator_viewed_object(*, actor, target, tenant_id, page: str) -> None:
    """Record in the tenant's audit trail that a platform operator opened a page (change,
    history, delete) of one of its objects."""
    with rls.tenant_context(tenant_id):
        audit_record(
            action="operator.viewed",
            tenant_id=tenant_id,
            actor=actor,
            target=target,
            details={"page": page},
        )


def operator_viewed_list(*, actor, model, shown: dict) -> None:
    """Record in each tenant's audit trail that a platform operator's list page showed
    ``shown[tenant_id]`` of its ``model`` rows (one INSERT, however many tenants)."""
    if not shown:
        return
    with system_bypass(reason="operator.listed"):
        audit_record_many(
            [
                {
                    "action": "operator.listed",
                    "tenant_id": tenant_id,
                    "actor": actor,
                    "details": {"model": model._meta.label_lower, "count": count},
                }
                for tenant_id, count in shown.items()
            ]
        )


# --- Tenants --------------------------------------------------------------------------------


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


# --- Memberships ----------------------------------------------------------------------------


def _staff_user_for_email(email: str):
    email = User.objects.normalize_email(email).strip().lower()
    if not email or "@" not in email:
        raise ValidationError({"email": "Enter a valid email address."})
    # The person may already have an account (a member elsewhere, a candidate).
    with rls.identity_lookup_context():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(username=email[:150], email=email, is_staff=True)
            user.set_unusable_password()
            user.save()
        elif not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return user


def _require_role_change_allowed(*, actor_membership: Membership | None, role: str) -> None:
    if (
        actor_membership is not None
        and role == Role.OWNER
        and (actor_membership.role != Role.OWNER)
    ):
        raise ValidationError({"role": "Only an owner can grant or remove the owner role."})


def _require_other_owner(*, tenant_id, excluding_pk) -> None:
    others = Membership.objects.filter(tenant_id=tenant_id, role=Role.OWNER).exclude(
        pk=excluding_pk
    )
    if not others.exists():
        raise ValidationError({"role": "A tenant must keep at least one owner."})


@transaction.atomic
def membership_add(
    *, tenant: Tenant, email: str, role: str, actor, actor_membership: Membership | None
) -> Membership:
    """Give the person with ``email`` a role in ``tenant`` (creating their staff login)."""
    _require_role_change_allowed(actor_membership=actor_membership, role=role)
    user = _staff_user_for_email(email)
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        raise ValidationError({"email": "This person is already a member."})
    membership = Membership.objects.create(tenant=tenant, user=user, role=role)
    audit_record(
        action="membership.added",
        tenant=tenant,
        actor=actor,
        target=membership,
        details={"role": role},
    )
    return membership


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: str, actor, actor_membership: Membership | None
) -> Membership:
    old = Membership.objects.select_for_update().get(pk=membership.pk).role
    if old == role:
        return membership
    _require_role_change_allowed(actor_membership=actor_membership, role=role)
    _require_role_change_allowed(actor_membership=actor_membership, role=old)
    if old == Role.OWNER:
        _require_other_owner(tenant_id=membership.tenant_id, excluding_pk=membership.pk)
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action="membership.role_changed",
        tenant_id=membership.tenant_id,
        actor=actor,
        target=membership,
        details={"from": old, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor, actor_membership: Membership | None):
    role = Membership.objects.select_for_update().get(pk=membership.pk).role
    _require_role_change_allowed(actor_membership=actor_membership, role=role)
    if role == Role.OWNER:
        _require_other_owner(tenant_id=membership.tenant_id, excluding_pk=membership.pk)
    audit_record(
        action="membership.removed",
        tenant_id=membership.tenant_id,
        actor=actor,
        target=membership,
        details={"role": role},
    )
    membership.delete()


# --- Console sign-in ------------------------------------------------------------------------
# The console's sign-in page (tenants.views.console_login) limits failed attempts per account
# and per client IP, and every sign-in, failed sign-in and sign-out is in the audit trail: in
# each tenant the account belongs to, or platform-level for operators and unknown accounts.

_LOGIN_FAILURE_LIMITS = (
    # (counter, setting with its rate)
    ("console-login-account-ip", "CONSOLE_LOGIN_FAILURES_PER_ACCOUNT"),
    ("console-login-account", "CONSOLE_LOGIN_FAILURES_PER_ACCOUNT_ANY_IP"),
    ("console-login-ip", "CONSOLE_LOGIN_FAILURES_PER_IP"),
)


def console_username_normalize(username: str) -> str:
    """One spelling per account for the failure counter, so "Ann@X.com " counts as ann@x.com."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()


def _login_failure_usage(request, *, username: str, increment: bool) -> list[dict]:
    account, ip = console_username_normalize(username), requestcontext.client_ip.get() or ""
    keys = {
        "console-login-account-ip": f"{account}|{ip}",
        "console-login-account": account,
        "console-login-ip": ip,
    }
    usages = []
    for group, setting in _LOGIN_FAILURE_LIMITS:
        usage = get_usage(
            request,
            group=group,
            key=lambda _group, _request, value=keys[group]: value,
            rate=getattr(settings, setting),
            increment=increment,
        )
        if usage is not None:
            usages.append(usage)
    return usages


def console_login_retry_after(request, *, username: str) -> int:
    """Seconds until a sign-in to ``username`` from this client may be tried again, or 0.
    Checked before the password, so that once the limit is reached even the right one waits."""
    waits = [
        max(usage["time_left"], 1)
        for usage in _login_failure_usage(request, username=username, increment=False)
        if usage["count"] >= usage["limit"]
    ]
    return max(waits, default=0)


def _console_account_record(*, action: str, user, actor=None, details=None) -> None:
    tenant_ids = selectors.member_tenant_ids(user)
    actor_label = "anonymous"
    if not tenant_ids:
        with system_bypass(reason=action):
            audit_record(
                action=action, actor=actor, actor_label=actor_label, target=user, details=details
            )
    for tenant_id in tenant_ids:
        with rls.tenant_context(tenant_id):
            audit_record(
                action=action,
                tenant_id=tenant_id,
                actor=actor,
                actor_label=actor_label,
                target=user,
                details=details,
            )


def console_login_succeeded(*, user) -> None:
    """Record a sign-in to the console."""
    _console_account_record(action="console.login", user=user, actor=user)


def console_login_failed(request, *, username: str) -> None:
    """Count a failed sign-in against the account and the client IP, and record it.

    For an existing account the event targets it (in each of its tenants). For a username that
    matches no account nothing of what was typed is kept: it is often a mistyped address or a
    password typed into the wrong field.
    """
    _login_failure_usage(request, username=username, increment=True)
    try:
        user = User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        with system_bypass(reason="console.login_failed"):
            audit_record(
                action="console.login_failed",
                actor_label="anonymous",
                details={"account": "unknown"},
            )
        return
    _console_account_record(action="console.login_failed", user=user)


def console_logout_recorded(*, user) -> None:
    """Record a sign-out from the console."""
    _console_account_record(action="console.logout", user=user, actor=user)


def user_record_login(sender, user, **kwargs) -> None:
    """Note the time of ``user``'s sign-in on their account (Django's ``last_login``), as that
    user: accounts are behind the database wall (``user_logged_in`` receiver, any sign-in)."""
    user.last_login = timezone.now()
    with rls.user_context(user.pk):
        type(user)._default_manager.filter(pk=user.pk).update(last_login=user.last_login)
