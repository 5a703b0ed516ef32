"""Interview invitations: the emailed link is the only place the raw token exists."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.models import TenantOwned
from interviews.models import Candidate, InterviewSession, InterviewTemplate


class InvitationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Sending failed"
    OPENED = "opened", "Opened"
    ACCEPTED = "accepted", "Accepted"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class InterviewInvitation(TenantOwned):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="invitations")
    template = models.ForeignKey(
        InterviewTemplate, on_delete=models.PROTECT, related_name="invitations"
    )
    # SHA-256 of the token; the unique index is the lookup path.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When the invitation stopped being usable because its time ran out: stamped (and
    # audited) by the expiry job once ``expires_at`` has passed, or by the console's "Expire".
    expired_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveSmallIntegerField(default=0)
    last_send_error = models.TextField(blank=True)
    # Set when the candidate accepts; the session lives in `interviews`, which never
    # imports this app, so the link is held on this side.
    session = models.OneToOneField(
        InterviewSession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitation",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Invitation changelist: newest first within the tenant.
            models.Index(fields=["tenant", "-created_at"], name="invitation_tenant_created_idx"),
            # The expiry job: open invitations past their expiry, not yet stamped expired.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(
                    accepted_at__isnull=True, revoked_at__isnull=True, expired_at__isnull=True
                ),
                name="invitation_open_expiry_idx",
            ),
        ]

    def __str__(self):
        return f"Invitation for {self.candidate} ({self.template})"

    @property
    def audit_label(self) -> str:
        return f"Invitation {str(self.pk)[:8]}"  # without the candidate (see Candidate)

    @property
    def status(self) -> str:
        if self.revoked_at:
            return InvitationStatus.REVOKED
        if self.accepted_at:
            return InvitationStatus.ACCEPTED
        if self.expired_at or self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        if self.opened_at:
            return InvitationStatus.OPENED
        if self.last_send_error:
            return InvitationStatus.FAILED
        if self.sent_at:
            return InvitationStatus.SENT
        return InvitationStatus.QUEUED


class AccommodationRequest(TenantOwned):
    """A candidate asking for an alternative process or an accommodation instead of (or for)
    the AI interview. The tenant's owners and admins are notified by email."""

    invitation = models.ForeignKey(
        InterviewInvitation, on_delete=models.CASCADE, related_name="accommodation_requests"
    )
    candidate = models.ForeignKey(
        Candidate, on_delete=models.CASCADE, related_name="accommodation_requests"
    )
    message = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Console list: newest first within the tenant.
            models.Index(fields=["tenant", "-created_at"], name="accommodation_tenant_idx"),
        ]

    def __str__(self):
        return f"Request from {self.candidate}"

    @property
    def audit_label(self) -> str:
        return f"Accommodation request {str(self.pk)[:8]}"  # without the candidate
