"""Reads for invitations. A candidate has no tenant until their invitation names one, so these
are the candidate side's narrow, logged lookups across tenants."""

from __future__ import annotations

import hmac

from django.db import connection
from django.utils import timezone

from core import rls
from tenants.services import system_bypass

from .models import InterviewInvitation
from .services import token_hash

_RELATED = ("tenant", "template", "candidate")


def invitation_for_token(token: str) -> InterviewInvitation | None:
    """The invitation a link's token belongs to, in whichever tenant, or None.

    One round trip to the database's ``invitation_token_lookup`` (by the hash's unique index,
    across tenants, returning nothing but id and tenant), a constant-time comparison of the
    hashes, and only then a read of the invitation inside its own tenant."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, tenant_id, token_hash FROM invitation_token_lookup(%s)", [digest]
        )
        row = cursor.fetchone()
    if row is None or not hmac.compare_digest(row[2], digest):
        return None
    with rls.tenant_context(row[1]):
        return InterviewInvitation.objects.select_related(*_RELATED).filter(pk=row[0]).first()


def invitation_for_flow(invitation_id) -> InterviewInvitation | None:
    """The invitation whose id the candidate's own session holds (set when they opened the
    link)."""
    if not invitation_id:
        return None
    with system_bypass(reason="candidate onboarding"):
        return (
            InterviewInvitation.objects.select_related(*_RELATED, "session")
            .filter(pk=invitation_id)
            .first()
        )


def invitations_past_expiry(*, limit: int = 1000) -> list[tuple]:
    """``(invitation id, tenant id)`` of every tenant's open invitations whose expiry date has
    passed and that are not yet stamped expired (at most ``limit``, oldest expiry first), for
    the expiry job."""
    with system_bypass(reason="expire invitations"):
        return list(
            InterviewInvitation.objects.filter(
                accepted_at__isnull=True,
                revoked_at__isnull=True,
                expired_at__isnull=True,
                expires_at__lte=timezone.now(),
            )
            .order_by("expires_at")
            .values_list("pk", "tenant_id")[:limit]
        )
