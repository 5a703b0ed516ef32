"""Candidates, interview templates, sessions and everything a session produces.

All tables carry ``tenant_id`` and are under row-level security (see the migrations).
Django indexes every foreign-key column; the indexes declared below are the extra ones the
console's list pages and the periodic jobs query by, each with the query it serves.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TenantOwned


def default_turn_detection():
    # Semantic VAD with low eagerness: the model waits for the candidate to finish a thought
    # instead of cutting in on a pause.
    return {"type": "semantic_vad", "eagerness": "low"}


# --- Candidates -----------------------------------------------------------------------------


class CandidateStatus(models.TextChoices):
    """Where a candidate is in the tenant's pipeline. It follows their progress
    (services.candidate_status_follow); recruiters may also set it by hand."""

    NEW = "new", "New"
    INVITED = "invited", "Invited"
    INTERVIEWING = "interviewing", "Interviewing"
    INTERVIEWED = "interviewed", "Interviewed"
    ADVANCED = "advanced", "Advanced"
    ON_HOLD = "on_hold", "On hold"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Candidate(TenantOwned):
    """A person in one tenant's pipeline. The same person applying to two tenants has two
    rows, linked to the same auth user once they sign in."""

    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(
        max_length=128, blank=True, help_text="The candidate's id in your ATS."
    )
    status = models.CharField(
        max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.NEW
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="candidacies",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "email"], name="candidate_unique_email"),
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=~Q(external_id=""),
                name="candidate_unique_external_id",
            ),
        ]
        indexes = [
            # Candidate changelist: newest first, optionally filtered by status.
            models.Index(fields=["tenant", "-created_at"], name="candidate_tenant_created_idx"),
            models.Index(fields=["tenant", "status"], name="candidate_tenant_status_idx"),
        ]

    def __str__(self):
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    @property
    def audit_label(self) -> str:
        """How the (append-only) audit trail names it: no name or address, which must go
        when the candidate's data is erased."""
        return f"Candidate {str(self.pk)[:8]}"


# --- Templates ------------------------------------------------------------------------------


class Voice(models.TextChoices):
    ALLOY = "alloy"
    ASH = "ash"
    BALLAD = "ballad"
    CORAL = "coral"
    ECHO = "echo"
    SAGE = "sage"
    SHIMMER = "shimmer"
    VERSE = "verse"
    MARIN = "marin"
    CEDAR = "cedar"


class InterviewTemplate(TenantOwned):
    title = models.CharField(max_length=200, help_text="Shown to the candidate.")
    role = models.CharField(max_length=200, help_text="The position being interviewed for.")
    instructions = models.TextField(
        blank=True, help_text="How the AI interviewer should conduct this interview."
    )
    max_duration_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(60)],
        help_text="The provider ends a realtime session after 60 minutes.",
    )
    language = models.CharField(max_length=16, default="en")
    voice = models.CharField(max_length=16, choices=Voice.choices, default=Voice.MARIN)
    model = models.CharField(max_length=64, default="gpt-realtime")
    transcription_model = models.CharField(max_length=64, default="gpt-4o-transcribe")
    turn_detection = models.JSONField(default=default_turn_detection)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="template_tenant_active_idx")]

    def __str__(self):
        return self.title


class TemplateQuestion(TenantOwned):
    template = models.ForeignKey(
        InterviewTemplate, on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()
    guidance = models.TextField(blank=True, help_text="What a good answer covers (AI only).")

    class Meta:
        ordering = ["template", "position", "id"]
        indexes = [models.Index(fields=["template", "position"], name="question_order_idx")]

    def __str__(self):
        return self.text[:80]


class RubricCriterion(TenantOwned):
    template = models.ForeignKey(
        InterviewTemplate, on_delete=models.CASCADE, related_name="criteria"
    )
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    weight = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        ordering = ["template", "position", "id"]
        verbose_name_plural = "rubric criteria"
        indexes = [models.Index(fields=["template", "position"], name="criterion_order_idx")]

    def __str__(self):
        return self.name


# --- Consent --------------------------------------------------------------------------------


class Consent(TenantOwned):
    """A candidate's agreement to an AI-conducted, recorded interview: the exact text they were
    shown, its version, when and from where. No session starts without one."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="consents")
    version = models.CharField(max_length=32)
    text = models.TextField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-accepted_at"]

    def __str__(self):
        return f"Consent {self.version} by {self.candidate_id}"


# --- Sessions -------------------------------------------------------------------------------


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


class Speaker(models.TextChoices):
    INTERVIEWER = "interviewer", "Interviewer"
    CANDIDATE = "candidate", "Candidate"
    SYSTEM = "system", "System"


class TranscriptSource(models.TextChoices):
    SERVER = "server", "Server (sideband)"
    CLIENT = "client", "Browser (fallback)"


class TranscriptEntry(TenantOwned):
    session = models.ForeignKey(
        InterviewSession, on_delete=models.CASCADE, related_name="transcript"
    )
    seq = models.PositiveIntegerField()
    speaker = models.CharField(max_length=16, choices=Speaker.choices)
    text = models.TextField()
    provider_item_id = models.CharField(max_length=128, blank=True)
    source = models.CharField(
        max_length=8, choices=TranscriptSource.choices, default=TranscriptSource.SERVER
    )
    started_ms = models.PositiveIntegerField(null=True, blank=True)
    ended_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "seq"]
        verbose_name_plural = "transcript entries"
        constraints = [
            # Ordering within a session; also the index for reading a transcript in order.
            models.UniqueConstraint(fields=["session", "seq"], name="transcript_unique_seq"),
            # The server and browser capture paths (and retries) never duplicate an item.
            models.UniqueConstraint(
                fields=["session", "provider_item_id"],
                condition=~Q(provider_item_id=""),
                name="transcript_unique_item",
            ),
        ]

    def __str__(self):
        return f"{self.seq}. {self.get_speaker_display()}: {self.text[:60]}"


class VideoStatus(models.TextChoices):
    RECORDING = "recording", "Recording"
    UPLOADED = "uploaded", "Uploaded"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class VideoSegment(TenantOwned):
    session = models.ForeignKey(
        InterviewSession, on_delete=models.CASCADE, related_name="video_segments"
    )
    provider_video_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(
        max_length=16, choices=VideoStatus.choices, default=VideoStatus.RECORDING
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    playback_url = models.URLField(max_length=500, blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "started_at"]
        constraints = [
            # Webhooks from the video provider look segments up by its id.
            models.UniqueConstraint(
                fields=["provider_video_id"],
                condition=~Q(provider_video_id=""),
                name="video_unique_provider_id",
            ),
        ]

    def __str__(self):
        return self.provider_video_id or str(self.pk)


class SummaryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Recommendation(models.TextChoices):
    STRONG_YES = "strong_yes", "Strong yes"
    YES = "yes", "Yes"
    MIXED = "mixed", "Mixed"
    NO = "no", "No"
    STRONG_NO = "strong_no", "Strong no"


class SessionSummary(TenantOwned):
    """The AI's structured summary of a session. Advisory: the decision is the recruiter's."""

    session = models.OneToOneField(
        InterviewSession, on_delete=models.CASCADE, related_name="summary"
    )
    status = models.CharField(
        max_length=16, choices=SummaryStatus.choices, default=SummaryStatus.PENDING
    )
    summary = models.TextField(blank=True)
    strengths = models.JSONField(default=list, blank=True)
    concerns = models.JSONField(default=list, blank=True)
    criterion_scores = models.JSONField(default=list, blank=True)
    overall_rating = models.DecimalField(
        max_digits=3,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    recommendation = models.CharField(max_length=16, choices=Recommendation.choices, blank=True)
    model = models.CharField(max_length=64, blank=True)
    prompt_version = models.CharField(max_length=32, blank=True)
    token_usage = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The run writing it (interviews.services.summaries): a worker claims the row under lock
    # with a fresh attempt id, and only the run holding that id may write the result.
    attempt_id = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # calls to the AI service so far
    # Evidence quotes the model gave that are not in the transcript, dropped.
    quotes_dropped = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "session summaries"

    def __str__(self):
        return f"Summary of {self.session_id}"


class SessionEvent(TenantOwned):
    """The session's timeline (connection changes, tool calls, errors). Append-only."""

    session = models.ForeignKey(InterviewSession, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "created_at"]
        indexes = [models.Index(fields=["session", "created_at"], name="event_session_time_idx")]

    def __str__(self):
        return self.kind
