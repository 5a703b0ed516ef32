"""Interview invitations: issuing, delivering, and the candidate's way from link to session.

The raw token exists only in the emailed link. Each delivery makes a fresh token and stores its
SHA-256; a resend therefore replaces the previous link (the candidate uses the newest email).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import rls
from interviews.models import Candidate, Consent, InterviewTemplate
from interviews.services import (
    PipelineEvent,
    candidate_status_follow,
    normalize_email,
    require_same_tenant,
    session_create,
)
from tenants.services import acting_person, audit_record, system_bypass
from webhooks.models import WebhookEvent
from webhooks.services import console_url, webhook_emit

from .models import InterviewInvitation, InvitationStatus

logger = logging.getLogger(__name__)
User = get_user_model()

TOKEN_BYTES = 32  # 256 bits
OPEN_STATUSES = {
    InvitationStatus.QUEUED,
    InvitationStatus.SENT,
    InvitationStatus.FAILED,
    InvitationStatus.OPENED,
}


class InvitationUnusable(ValidationError):
    """The invitation cannot be used (expired, revoked, already used)."""

    def __init__(self, status: str):
        super().__init__(f"This invitation is {status}.", code=status)
        self.status = status


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token: str) -> str:
    return settings.SITE_URL + reverse("invitation_open", args=[token])


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def _require_open(invitation: InterviewInvitation) -> None:
    if invitation.status not in OPEN_STATUSES:
        raise InvitationUnusable(invitation.status)


def _enqueue_delivery(invitation: InterviewInvitation) -> None:
    from . import tasks  # tasks wrap these services; imported here to avoid a cycle

    tasks.deliver_invitation.delay_on_commit(str(invitation.pk), str(invitation.tenant_id))


# --- Recruiter side -------------------------------------------------------------------------


@transaction.atomic
def invitation_issue(
    *, candidate: Candidate, template: InterviewTemplate, actor, send: bool = True
) -> InterviewInvitation:
    """Invite ``candidate`` to ``template``; the email goes out from a worker once this
    transaction commits. Expiry follows the tenant's setting."""
    require_same_tenant(candidate.tenant_id, template)
    if not template.is_active:
        raise ValidationError(f"The template {template} is not active.")
    _, placeholder = _new_token()  # nobody holds a link until the first delivery
    invitation = InterviewInvitation.objects.create(
        tenant_id=candidate.tenant_id,
        candidate=candidate,
        template=template,
        token_hash=placeholder,
        expires_at=timezone.now() + timedelta(days=candidate.tenant.invitation_expiry_days),
        created_by=acting_person(actor),
    )
    audit_record(
        action="invitation.issued",
        tenant_id=candidate.tenant_id,
        actor=actor,
        target=invitation,
        details={"template": str(template.pk)},
    )
    candidate.status = candidate_status_follow(
        candidate_id=candidate.pk, event=PipelineEvent.INVITED, actor=actor
    )
    if send:
        _enqueue_delivery(invitation)
    return invitation


@transaction.atomic
def invitations_issue_many(*, candidates, template: InterviewTemplate, actor) -> list:
    """Invite several candidates at once (the console's "Invite to interview" action)."""
    return [invitation_issue(candidate=c, template=template, actor=actor) for c in candidates]


@transaction.atomic
def invitation_resend(*, invitation: InterviewInvitation, actor) -> None:
    """Send the invitation again with a new link (the old link stops working)."""
    _require_open(invitation)
    audit_record(
        action="invitation.resent",
        tenant_id=invitation.tenant_id,
        actor=actor,
        target=invitation,
    )
    _enqueue_delivery(invitation)


@transaction.atomic
def invitation_revoke(*, invitation: InterviewInvitation, actor) -> bool:
    """Make an open invitation unusable. Returns False for one already accepted or revoked."""
    if invitation.revoked_at or invitation.accepted_at:
        return False
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        action="invitation.revoked",
        tenant_id=invitation.tenant_id,
        actor=actor,
        target=invitation,
    )
    return True


@transaction.atomic
def invitation_expire(*, invitation: InterviewInvitation, actor) -> bool:
    """End an open invitation's validity now. Returns False when it was not open."""
    if invitation.status not in OPEN_STATUSES:
        return False
    invitation.expires_at = invitation.expired_at = timezone.now()
    invitation.save(update_fields=["expires_at", "expired_at"])
    audit_record(
        action="invitation.expired",
        tenant_id=invitation.tenant_id,
        actor=actor,
        target=invitation,
    )
    return True


def invitation_expire_due(*, invitation_id, tenant_id) -> bool:
    """Stamp an invitation whose expiry date has passed as expired, and record it in the audit
    trail (the expiry job). Returns False when it was accepted, revoked or stamped meanwhile,
    or is not due."""
    with rls.tenant_context(tenant_id), transaction.atomic():
        invitation = (
            InterviewInvitation.objects.select_for_update()
            .filter(
                pk=invitation_id,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
                expired_at__isnull=True,
                expires_at__lte=timezone.now(),
            )
            .first()
        )
        if invitation is None:
            return False
        # When it stopped working, not when the job noticed.
        invitation.expired_at = invitation.expires_at
        invitation.save(update_fields=["expired_at"])
        audit_record(
            action="invitation.expired",
            tenant_id=tenant_id,
            actor_label="expiry job",
            target=invitation,
            details={"because": "expiry_date"},
        )
        return True


def _invitation_data(invitation: InterviewInvitation) -> dict:
    """What invitation webhooks carry: ids, times and the console link, no name or address."""
    return {
        "invitation_id": str(invitation.pk),
        "candidate_id": str(invitation.candidate_id),
        "template_id": str(invitation.template_id),
        "sent_at": invitation.sent_at.isoformat() if invitation.sent_at else None,
        "expires_at": invitation.expires_at.isoformat() if invitation.expires_at else None,
        "console_url": console_url(invitation),
    }


# --- Delivery (worker) ----------------------------------------------------------------------


def invitation_email(invitation: InterviewInvitation, token: str) -> EmailMultiAlternatives:
    tenant = invitation.tenant
    context = {
        "invitation": invitation,
        "tenant": tenant,
        "template": invitation.template,
        "candidate": invitation.candidate,
        "link": invitation_link(token),
        "brand_color": (tenant.branding or {}).get("color", "#0b6e4f"),
        "logo_url": (tenant.branding or {}).get("logo_url", ""),
    }
    subject = render_to_string("invitations/email/subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("invitations/email/invitation.txt", context),
        to=[invitation.candidate.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(
        render_to_string("invitations/email/invitation.html", context), "text/html"
    )
    return message


def invitation_deliver(*, invitation_id, tenant_id, email_connection=None) -> str | None:
    """Email the invitation with a fresh link. Returns the token, or None when the invitation
    is no longer open. A sending failure is recorded on the invitation and re-raised so the
    task retries with backoff. ``email_connection``: an email backend connection other than
    the configured one."""
    with rls.tenant_context(tenant_id), transaction.atomic():
        invitation = (
            InterviewInvitation.objects.select_for_update(of=("self",))
            .select_related("tenant", "template", "candidate")
            .get(pk=invitation_id)
        )
        if invitation.status not in OPEN_STATUSES:
            return None
        token, digest = _new_token()
        invitation.token_hash = digest
        invitation.save(update_fields=["token_hash"])
    try:
        message = invitation_email(invitation, token)
        message.connection = email_connection
        message.send()
    except Exception as exc:
        with rls.tenant_context(tenant_id):
            InterviewInvitation.objects.filter(pk=invitation_id).update(
                last_send_error=f"{type(exc).__name__}: {exc}"[:500]
            )
        logger.warning("invitation email failed", extra={"invitation": str(invitation_id)})
        raise
    with rls.tenant_context(tenant_id), transaction.atomic():
        now = timezone.now()
        invitation.sent_at = now
        invitation.send_count += 1
        invitation.last_send_error = ""
        invitation.save(update_fields=["sent_at", "send_count", "last_send_error"])
        webhook_emit(
            tenant_id=tenant_id,
            event_type=WebhookEvent.INVITATION_SENT,
            data={**_invitation_data(invitation), "send_count": invitation.send_count},
        )
    return token


# --- Candidate side -------------------------------------------------------------------------


def invitation_mark_opened(*, invitation: InterviewInvitation) -> None:
    if invitation.opened_at is None:
        with rls.tenant_context(invitation.tenant_id):
            InterviewInvitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
                opened_at=timezone.now()
            )


def candidate_account_for(invitation: InterviewInvitation):
    """The auth user for the invitation's email, created (without a password, email not yet
    verified) if needed, so that an emailed login code can sign the candidate in."""
    from allauth.account.models import EmailAddress

    email = normalize_email(invitation.candidate.email)
    with rls.identity_lookup_context():  # the person may have an account from elsewhere
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(username=email[:150], email=email)
            user.set_unusable_password()
            user.save()
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"primary": True, "verified": False}
        )
    return user


def email_verified(user, email: str) -> bool:
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def candidate_link_user(*, invitation: InterviewInvitation, user) -> bool:
    """Link ``user`` to every candidate row (in any tenant) for the invitation's email, if the
    user has verified that email. Returns False when the account's email is another one."""
    email = normalize_email(invitation.candidate.email)
    if not email_verified(user, email):
        return False
    with system_bypass(reason="link candidate account"):
        Candidate.objects.filter(email=email, user__isnull=True).update(user=user)
    return True


@transaction.atomic
def invitation_accept(*, invitation: InterviewInvitation, user, consent: Consent):
    """Use the invitation: create the candidate's pending session (or return the one it
    already created for this user). Single use; needs the candidate's consent."""
    with rls.tenant_context(invitation.tenant_id):
        locked = (
            InterviewInvitation.objects.select_for_update(of=("self",))
            .select_related("candidate", "template", "session")
            .get(pk=invitation.pk)
        )
        if locked.accepted_at and locked.session and locked.candidate.user_id == user.pk:
            return locked.session
        _require_open(locked)
        if locked.candidate.user_id != user.pk:
            raise ValidationError("This invitation belongs to another account.")
        session = session_create(
            candidate=locked.candidate, template=locked.template, consent=consent
        )
        locked.accepted_at = timezone.now()
        locked.session = session
        locked.save(update_fields=["accepted_at", "session"])
        audit_record(
            action="invitation.accepted",
            tenant_id=locked.tenant_id,
            # Not the account: a candidate's username is their email address, and the trail
            # keeps no personal data (the invitation says whose it was, until it is erased).
            actor_label="candidate",
            target=locked,
            details={"session": str(session.pk)},
        )
        webhook_emit(
            tenant_id=locked.tenant_id,
            event_type=WebhookEvent.INVITATION_ACCEPTED,
            data={**_invitation_data(locked), "session_id": str(session.pk)},
        )
        return session
