"""What the schema tells clients: the error body, and the session state every session view
answers with (one class writes the answer and documents it, so the two cannot drift)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer, inline_serializer
from rest_framework import serializers

from interviews.models import InterviewSession, SessionStatus

ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "code": serializers.CharField(help_text="Stable, machine-readable reason."),
                "message": serializers.CharField(help_text="For people; may change."),
            },
        )
    },
)


def error_responses(*statuses: int) -> dict:
    """The error answers an operation can give, each with the error body. Every operation can
    answer 401 (no session token, or an expired or invalid one) and 404 (another session)."""
    described = {
        400: "Invalid input (including text with NUL characters or lone surrogates)",
        401: "No session token, or an expired or invalid one",
        404: "No such session for this token",
        403: "The company's account is suspended: no new interview starts",
        409: "The session has ended",
        413: "Request body too large",
        503: "The platform is in maintenance and this interview has not started (maintenance): "
        "try again after Retry-After seconds",
    }
    return {
        status: OpenApiResponse(ErrorSerializer, description=described[status])
        for status in (401, 404, *statuses)
    }


class _PythonIsoDateTimeField(serializers.DateTimeField):
    """ISO 8601 as Python writes it ("+00:00" where DRF would write "Z"), as the API always
    has."""

    def to_representation(self, value):
        return value.isoformat() if value else None


@extend_schema_serializer(component_name="SessionStatus")
class SessionStatusOutputSerializer(serializers.Serializer):
    """The session's state as the interview page sees it (start, heartbeat, end and status
    answer with it)."""

    # One class writes the answer and documents it in the schema, so the two cannot drift.

    id = serializers.UUIDField(source="pk")
    status = serializers.ChoiceField(SessionStatus.choices)
    end_reason = serializers.CharField()
    started_at = _PythonIsoDateTimeField(allow_null=True)
    max_duration_seconds = serializers.SerializerMethodField()
    remaining_seconds = serializers.SerializerMethodField()
    ended = serializers.BooleanField(source="is_terminal")

    def get_max_duration_seconds(self, session: InterviewSession) -> int:
        return session.template.max_duration_minutes * 60

    def get_remaining_seconds(self, session: InterviewSession) -> int | None:
        """Time left once the interview is under way (counted from when it went live)."""
        if not session.started_at or session.is_terminal:
            return None
        elapsed = (timezone.now() - session.started_at).total_seconds()
        return max(0, int(self.get_max_duration_seconds(session) - elapsed))
