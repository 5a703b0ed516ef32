"""Reads for invitations."""

from __future__ import annotations

import hmac

from tenants.services import system_bypass

from .models import InterviewInvitation
from .services import token_hash


def invitation_for_token(token: str) -> InterviewInvitation | None:
    """The invitation a link's token belongs to, in whichever tenant, or None.

    The candidate has no tenant yet, so this is the one candidate-side read that looks across
    tenants: by the hash's unique index, then a constant-time comparison of the hashes."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    with system_bypass(reason="invitation lookup by token"):
        invitation = (
            InterviewInvitation.objects.select_related("tenant", "template", "candidate")
            .filter(token_hash=digest)
            .first()
        )
    if invitation is None or not hmac.compare_digest(invitation.token_hash, digest):
        return None
    return invitation
