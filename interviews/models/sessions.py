"""Interview sessions: the session itself, its status state machine (the transitions and the
times each status stamps), how it ended and the recruiter's decision."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TenantOwned

from .candidates import Candidate
from .consent import Consent
from .templates import InterviewTemplate


class SessionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONNECTING = "connecting", "Connecting"
    LIVE = "live", "Live"
    COMPLETED = "completed", "Completed"
    ABANDONED = "abandoned", "Abandoned"
    FAILED = "failed", "Failed"


S = SessionStatus
#: The session state machine: every status change goes through services.session_transition,
#: which consults this table (the SDP proxy's move to connecting goes through its one-statement
#: form, services.session_connect_async, built from this same table). connecting -> connecting
#: is a reconnect (a new offer for the same session); live -> connecting is the browser
#: re-negotiating after ICE failed.
SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.CONNECTING, S.ABANDONED, S.FAILED}),
    # connecting -> completed: an interview that had started ends while the browser reconnects.
    S.CONNECTING: frozenset({S.CONNECTING, S.LIVE, S.COMPLETED, S.ABANDONED, S.FAILED}),
    S.LIVE: frozenset({S.CONNECTING, S.COMPLETED, S.ABANDONED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.ABANDONED: frozenset(),
    S.FAILED: frozenset(),
}
TERMINAL_STATUSES = frozenset(s for s, targets in SESSION_TRANSITIONS.items() if not targets)
#: The time a move to each status stamps on the session. connecting_at is stamped at every
#: (re)connect; the others keep the first time (the interview is timed from when it first went
#: live, even after a reconnect).
SESSION_STATUS_TIMESTAMPS: dict[str, str] = {
    S.CONNECTING: "connecting_at",
    S.LIVE: "started_at",
    S.COMPLETED: "ended_at",
    S.ABANDONED: "ended_at",
    S.FAILED: "ended_at",
}
SESSION_RESTAMPED_STATUSES = frozenset({S.CONNECTING})

#: A session has a provider call in these: the SDP proxy recorded one (connecting) and it may
#: have gone live. The sideband follows a call only while its session is in one of them.
ON_CALL_STATUSES = frozenset({S.CONNECTING, S.LIVE})
#: A session is active (not ended) in these.
ACTIVE_STATUSES = frozenset({S.PENDING, *ON_CALL_STATUSES})


class EndReason(models.TextChoices):
    INTERVIEW_COMPLETE = "interview_complete", "Interviewer finished"
    CANDIDATE_ENDED = "candidate_ended", "Candidate ended"
    MAX_DURATION = "max_duration", "Time limit reached"
    NO_HEARTBEAT = "no_heartbeat", "Connection lost"
    EXPIRED = "expired", "Never started"


class Decision(models.TextChoices):
    NONE = "", "Undecided"
    ADVANCE = "advance", "Advance"
    HOLD = "hold", "Hold"
    REJECT = "reject", "Reject"


class InterviewSession(TenantOwned):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="sessions")
    template = models.ForeignKey(
        InterviewTemplate, on_delete=models.PROTECT, related_name="sessions"
    )
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="sessions")
    # The provider session configuration, built from the template when the session is created:
    # the interview runs (and reconnects) with the template as it was when the candidate
    # started, and the sideband guards exactly this.
    realtime_config = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.PENDING
    )
    end_reason = models.CharField(max_length=32, choices=EndReason.choices, blank=True)
    # Realtime provider
    provider = models.CharField(max_length=32, blank=True)
    provider_call_id = models.CharField(max_length=128, blank=True)
    model = models.CharField(max_length=64, blank=True)
    voice = models.CharField(max_length=16, blank=True)
    connection_state = models.CharField(max_length=32, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The number of the session's latest live update (interviews.services.live_updates).
    live_seq = models.PositiveBigIntegerField(default=0, editable=False)
    # Video (api.video)
    video_recording_id = models.CharField(max_length=128, blank=True)
    video_recording_url = models.URLField(max_length=500, blank=True)
    client_info = models.JSONField(default=dict, blank=True)
    # The recruiter's decision; the AI's rating lives in SessionSummary.
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decision_note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    connecting_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_call_id"],
                condition=~Q(provider_call_id=""),
                name="session_unique_call_id",
            ),
        ]
        indexes = [
            # Session changelist: newest first, filtered by status / template.
            models.Index(fields=["tenant", "-created_at"], name="session_tenant_created_idx"),
            models.Index(fields=["tenant", "status"], name="session_tenant_status_idx"),
            # The stale-session job: active sessions whose heartbeat is old.
            models.Index(
                fields=["last_heartbeat_at"],
                condition=Q(status__in=["pending", "connecting", "live"]),
                name="session_active_heartbeat_idx",
            ),
        ]

    def __str__(self):
        return f"{self.template} - {self.candidate}"

    @property
    def audit_label(self) -> str:
        return f"Interview session {str(self.pk)[:8]}"  # without the candidate (see Candidate)

    @property
    def duration_seconds(self) -> int | None:
        if self.started_at and self.ended_at:
            return int((self.ended_at - self.started_at).total_seconds())
        return None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES
