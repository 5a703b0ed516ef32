"""Interview templates: what the AI interviewer asks (questions) and how answers are judged
(the rubric), with the voice, model and turn detection a session starts with."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from core.models import TenantOwned


def default_turn_detection():
    # Semantic VAD with low eagerness: the model waits for the candidate to finish a thought
    # instead of cutting in on a pause.
    return {"type": "semantic_vad", "eagerness": "low"}


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
    video_required = models.BooleanField(
        default=False,
        help_text=(
            "The candidate cannot start without a working camera. Has no effect when the "
            "organisation does not record video."
        ),
    )
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
