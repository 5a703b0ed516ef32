"""What a session produces: its transcript, video segments, the AI's summary and the session's
timeline of events."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TenantOwned

from .sessions import InterviewSession


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
    # The session's live update that last wrote or moved this entry (live views catch up
    # with the entries changed since the last update they saw).
    live_seq = models.PositiveBigIntegerField(default=0, editable=False)
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
