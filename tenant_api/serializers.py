"""What the tenant API reads and writes. Output carries ids and the console link of each
object, so an integration can send a recruiter straight to it."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from interviews.models import Candidate, CandidateStatus, InterviewTemplate


def console_url(obj) -> str:
    meta = obj._meta
    return settings.SITE_URL + reverse(
        f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]
    )


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
