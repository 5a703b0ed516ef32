"""Outgoing webhooks: the endpoints a tenant registers and every delivery made to them.

A delivery is written in the transaction of the change it reports (``webhook_emit``) and sent
by a worker once that commits, at least once: retried on a schedule over more than a day,
and picked up again by a periodic job if the message that should have sent it was lost.
"""

from django.db import models

from core.models import TenantOwned


class WebhookEvent(models.TextChoices):
    INVITATION_SENT = "invitation.sent", "Invitation sent"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    SESSION_STARTED = "session.started", "Interview started"
    SESSION_COMPLETED = "session.completed", "Interview completed"
    SESSION_ABANDONED = "session.abandoned", "Interview abandoned"
    SUMMARY_READY = "summary.ready", "AI summary ready"
    DECISION_RECORDED = "decision.recorded", "Decision recorded"
    CANDIDATE_ERASED = "candidate.erased", "Candidate erased"


#: The console's "Send a test event": not an event anyone subscribes to.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(TenantOwned):
    """A URL of the tenant's that receives the events it subscribed to, signed with its own
    secret (Standard Webhooks)."""

    url = models.URLField(max_length=2000, verbose_name="URL")
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types sent to this endpoint.")
    # Kept as given so that it can sign; shown once, when the endpoint is created.
    secret = models.CharField(max_length=100, editable=False)
    include_transcript = models.BooleanField(
        default=False,
        help_text="Send the interview's transcript text with session.completed and "
        "summary.ready (and the summary's text with summary.ready). Off: ids and links only.",
    )
    is_enabled = models.BooleanField(default=True, verbose_name="enabled", editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    # Deliveries in a row that gave up, and when the endpoint last started failing: what
    # disables it (WEBHOOKS_DISABLE_AFTER_DEAD / _DAYS). A success resets both.
    consecutive_dead = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook endpoint"

    def __str__(self):
        return self.url

    @property
    def audit_label(self) -> str:
        return f"Webhook endpoint {str(self.pk)[:8]}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    # The last attempt failed; another is scheduled (next_attempt_at).
    FAILED = "failed", "Failed, retrying"
    # Every attempt failed, or the endpoint was disabled: no more are made on their own.
    DEAD = "dead", "Gave up"


class WebhookDelivery(TenantOwned):
    """One event for one endpoint. ``message_id`` is the ``webhook-id`` header: the same on
    every attempt, so a receiver can tell a retry from a new event."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=64)
    message_id = models.CharField(max_length=64, unique=True)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The periodic job's "due now" scan.
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            # The console's log: newest first within the tenant.
            models.Index(fields=["tenant", "-created_at"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.message_id}"

    @property
    def audit_label(self) -> str:
        return f"Webhook delivery {self.message_id}"
