"""Reads for tenants and memberships: the one place that resolves who belongs where."""

from __future__ import annotations

from ipaddress import ip_address, ip_network

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core import rls

from .models import AuditEvent, Membership


def memberships_for_user(user) -> list[Membership]:
    """The user's memberships with their tenants (visible through RLS's user_context)."""
    return list(
        Membership.objects.filter(user=user, tenant__status="active")
        .select_related("tenant")
        .order_by("tenant__name")
    )


def suspended_memberships_for_user(user) -> list[Membership]:
    """The user's memberships of tenants that are not active (suspended by the platform)."""
    return list(
        Membership.objects.filter(user=user)
        .exclude(tenant__status="active")
        .select_related("tenant")
        .order_by("tenant__name")
    )


def is_console_user(user) -> bool:
    """Whether ``user`` works in the recruiter console: a platform operator, a staff user or a
    member of any tenant (whatever its status). Such accounts sign in only with their password
    at the console's sign-in page, never with a candidate's emailed code or Google."""
    if user.is_staff or user.is_superuser:
        return True
    with rls.user_context(user.pk):
        return Membership.objects.filter(user=user).exists()


def member_tenant_ids(user) -> list:
    """The ids of every tenant ``user`` is a member of, whatever the tenant's status."""
    with rls.user_context(user.pk):
        return list(Membership.objects.filter(user=user).values_list("tenant_id", flat=True))


def membership_pick(memberships: list[Membership], preferred_tenant_id: str | None):
    """The membership the console works in: the one the user switched to, else the first."""
    for membership in memberships:
        if str(membership.tenant_id) == str(preferred_tenant_id):
            return membership
    return memberships[0] if memberships else None


def network_allowed(tenant, ip: str | None) -> bool:
    """Whether a console request from ``ip`` is allowed by the tenant's network list."""
    return networks_allow(tenant.allowed_admin_networks or [], ip)


def operator_console_network_allowed(ip: str | None) -> bool:
    """Whether a platform operator may use the console (and its live view) from ``ip``:
    OPERATOR_ALLOWED_NETWORKS, where an empty list allows any network."""
    return networks_allow(list(settings.OPERATOR_ALLOWED_NETWORKS), ip)


#: The browser session's record that it passed the second factor: the id of the authenticator
#: it was checked against (set at the sign-in's code step and at enrolment).
TWO_FACTOR_SESSION_KEY = "console_two_factor_verified"
_STATE_SECONDS = 3600


def _state_key(user_id) -> str:
    return f"two-factor-state:{user_id}"


def two_factor_state(user) -> str:
    """The id of ``user``'s TOTP authenticator, "" if they have none. Asked on every console
    request, so kept in the shared cache (forgotten whenever it changes:
    ``two_factor_state_forget``)."""
    state = cache.get(_state_key(user.pk))
    if state is None:
        with rls.user_context(user.pk):
            found = (
                Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP)
                .values_list("pk", flat=True)
                .first()
            )
        state = str(found) if found else ""
        cache.set(_state_key(user.pk), state, _STATE_SECONDS)
    return state


def two_factor_state_forget(user) -> None:
    """After ``user``'s authenticator changed: now, and again once the change commits (a
    request in between could have cached the state as it was)."""
    cache.delete(_state_key(user.pk))
    transaction.on_commit(lambda: cache.delete(_state_key(user.pk)))


def two_factor_enabled(user) -> bool:
    """Whether ``user`` has a TOTP authenticator (their own row: user_context)."""
    return bool(two_factor_state(user))


def two_factor_session_stale(user, verified) -> bool:
    """Whether a browser session signed in as ``user`` must sign in again: they have two-factor
    authentication and this session did not pass it (``verified``: its
    TWO_FACTOR_SESSION_KEY) - it signed in before they set it up, or against an authenticator
    since removed or replaced."""
    state = two_factor_state(user)
    return bool(state) and verified != state


def two_factor_required(memberships: list[Membership]) -> bool:
    """Whether one of the tenants of ``memberships`` makes two-factor sign-in mandatory."""
    return any(membership.tenant.require_two_factor for membership in memberships)


def two_factor_missing(user, memberships: list[Membership]) -> bool:
    """Whether ``user`` must enrol in two-factor authentication before using the console: a
    tenant of theirs requires it and they have none (no query unless one requires it)."""
    return two_factor_required(memberships) and not two_factor_enabled(user)


def networks_allow(networks: list[str], ip: str | None) -> bool:
    """Whether ``ip`` is in one of ``networks`` (CIDR ranges); an empty list allows all."""
    if not networks:
        return True
    if not ip:
        return False
    try:
        address = ip_address(ip)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.1.2.3 is 10.1.2.3 (a dual-stack socket)
    return any(address in ip_network(net, strict=False) for net in networks)


def actor_label_in_trail(user_id) -> str:
    """How the current tenant's audit trail names the account ``user_id`` (its latest event),
    or "": for someone whose account the tenant may not read (see AccountField)."""
    return (
        AuditEvent.objects.filter(actor_id=user_id)
        .order_by("-created_at")
        .values_list("actor_label", flat=True)
        .first()
        or ""
    )
