"""Issuing interview invitations. The raw token exists only in the link that is returned."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from interviews.models import Candidate, CandidateStatus, InterviewTemplate
from interviews.services import require_same_tenant
from tenants.services import audit_record

from .models import InterviewInvitation

TOKEN_BYTES = 32  # 256 bits


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    return settings.SITE_URL + reverse("invitation_open", args=[token])


@transaction.atomic
def invitation_issue(
    *, candidate: Candidate, template: InterviewTemplate, actor
) -> tuple[InterviewInvitation, str]:
    """Create an invitation for ``candidate`` to ``template``; returns it with the raw token
    (to be emailed, never stored). Expiry follows the tenant's setting."""
    require_same_tenant(candidate.tenant_id, template)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    tenant = candidate.tenant
    invitation = InterviewInvitation.objects.create(
        tenant_id=candidate.tenant_id,
        candidate=candidate,
        template=template,
        token_hash=token_hash(token),
        expires_at=timezone.now() + timedelta(days=tenant.invitation_expiry_days),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if candidate.status == CandidateStatus.NEW:
        candidate.status = CandidateStatus.INVITED
        candidate.save(update_fields=["status", "updated_at"])
    audit_record(
        action="invitation.issued",
        tenant_id=candidate.tenant_id,
        actor=actor,
        target=invitation,
        details={"template": str(template.pk)},
    )
    return invitation, token


@transaction.atomic
def invitation_revoke(*, invitation: InterviewInvitation, actor) -> InterviewInvitation:
    """Make an open invitation unusable. Accepted or already revoked ones are left as they are."""
    if invitation.revoked_at or invitation.accepted_at:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        action="invitation.revoked",
        tenant_id=invitation.tenant_id,
        actor=actor,
        target=invitation,
    )
    return invitation
