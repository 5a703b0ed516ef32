"""Memberships: adding people to a tenant (with their staff login), changing their role and
removing them, keeping every tenant one owner and the owner role the owners' to give."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from core import rls

from ..models import Membership, Role, Tenant
from .audit import audit_record

User = get_user_model()


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
