"""What the tenant API reads and writes. Output carries ids and the console link of each
object, so an integration can send a recruiter straight to it."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from interviews.models import (
    Candidate,
    CandidateStatus,
    Decision,
    EndReason,
    InterviewSession,
    InterviewTemplate,
    Recommendation,
    SessionEvent,
    SessionSummary,
    TranscriptEntry,
    VideoSegment,
    VideoStatus,
)
from invitations.models import InterviewInvitation, InvitationStatus
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import console_url


class CandidateSerializer(serializers.ModelSerializer):
    console_url = serializers.SerializerMethodField()

    class Meta:
        model = Candidate
        fields = [
            "id",
            "email",
            "full_name",
            "external_id",
            "status",
            "created_at",
            "updated_at",
            "console_url",
        ]
        read_only_fields = ["id", "created_at", "updated_at", "console_url"]

    def get_console_url(self, obj) -> str:
        return console_url(obj)


class CandidateWriteSerializer(serializers.Serializer):
    """Create (email required) and update (any subset). Validation beyond shape - unique
    email and external id in the company - is the service's."""

    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    status = serializers.ChoiceField(CandidateStatus.choices, required=False)


class TemplateSerializer(serializers.ModelSerializer):
    console_url = serializers.SerializerMethodField()

    class Meta:
        model = InterviewTemplate
        fields = [
            "id",
            "title",
            "role",
            "language",
            "max_duration_minutes",
            "video_required",
            "is_active",
            "console_url",
        ]
        read_only_fields = fields

    def get_console_url(self, obj) -> str:
        return console_url(obj)


class SessionListSerializer(serializers.ModelSerializer):
    candidate = serializers.UUIDField(source="candidate_id")
    template = serializers.UUIDField(source="template_id")
    duration_seconds = serializers.IntegerField(allow_null=True)
    end_reason = serializers.ChoiceField(
        EndReason.choices, allow_blank=True, help_text='"" while the session has not ended.'
    )
    console_url = serializers.SerializerMethodField()

    class Meta:
        model = InterviewSession
        fields = [
            "id",
            "candidate",
            "template",
            "status",
            "end_reason",
            "created_at",
            "started_at",
            "ended_at",
            "duration_seconds",
            "console_url",
        ]
        read_only_fields = fields

    def get_console_url(self, obj) -> str:
        return console_url(obj)


class TranscriptEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TranscriptEntry
        fields = ["seq", "speaker", "text", "started_ms", "ended_ms", "created_at"]
        read_only_fields = fields


class SessionEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionEvent
        fields = ["kind", "data", "created_at"]
        read_only_fields = fields


class VideoSegmentSerializer(serializers.ModelSerializer):
    play_url = serializers.SerializerMethodField(
        help_text="The console's player for a ready segment (a recruiter signs in to watch): "
        "the provider's URLs are never given out."
    )

    class Meta:
        model = VideoSegment
        fields = ["id", "status", "started_at", "ended_at", "duration_seconds", "play_url"]
        read_only_fields = fields

    def get_play_url(self, obj) -> str | None:
        if obj.status != VideoStatus.READY:
            return None
        return settings.SITE_URL + reverse(
            "admin:interviews_interviewsession_video_play", args=[obj.session_id, obj.pk]
        )


class SummarySerializer(serializers.ModelSerializer):
    recommendation = serializers.ChoiceField(
        Recommendation.choices, allow_blank=True, help_text='"" until the summary is ready.'
    )

    class Meta:
        model = SessionSummary
        fields = [
            "status",
            "summary",
            "strengths",
            "concerns",
            "criterion_scores",
            "overall_rating",
            "recommendation",
            "model",
            "updated_at",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(Decision.choices, help_text='"" is undecided.')
    note = serializers.CharField(
        source="decision_note", max_length=4000, required=False, allow_blank=True
    )
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)


class InvitationSerializer(serializers.ModelSerializer):
    candidate = serializers.UUIDField(source="candidate_id")
    template = serializers.UUIDField(source="template_id")
    status = serializers.ChoiceField(InvitationStatus.choices)
    session = serializers.UUIDField(source="session_id", allow_null=True)
    console_url = serializers.SerializerMethodField()

    class Meta:
        model = InterviewInvitation
        fields = [
            "id",
            "candidate",
            "template",
            "status",
            "expires_at",
            "sent_at",
            "opened_at",
            "accepted_at",
            "revoked_at",
            "send_count",
            "session",
            "created_at",
            "console_url",
        ]
        read_only_fields = fields

    def get_console_url(self, obj) -> str:
        return console_url(obj)


class InvitationCreateSerializer(serializers.Serializer):
    candidate = serializers.UUIDField(help_text="The candidate to invite.")
    template = serializers.UUIDField(help_text="The interview they are invited to (active).")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(WebhookEvent.choices), min_length=1, max_length=20
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "include_transcript",
            "is_enabled",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = ["id", "is_enabled", "disabled_reason", "created_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_...): shown in this answer only."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_type",
            "message_id",
            "status",
            "attempts",
            "last_response_code",
            "last_error",
            "next_attempt_at",
            "created_at",
        ]
        read_only_fields = fields
