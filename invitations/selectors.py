"""Reads for invitations. A candidate has no tenant until their invitation names one, so these
are the candidate side's narrow, logged lookups across tenants."""

from __future__ import annotations

import hmac

from tenants.services import system_bypass

from .models import InterviewInvitation
from .services import token_hash

_RELATED = ("tenant", "template", "candidate")


def invitation_for_token(token: str) -> InterviewInvitation | None:
    """The invitation a link's token belongs to, in whichever tenant, or None: by the hash's
    unique index, then a constant-time comparison of the hashes."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    with system_bypass(reason="invitation lookup by token"):
        invitation = (
            InterviewInvitation.objects.select_related(*_RELATED).filter(token_hash=digest).first()
        )
    if invitation is None or not hmac.compare_digest(invitation.token_hash, digest):
        return None
    return invitation


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
