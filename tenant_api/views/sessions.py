"""Interview sessions, to read (with transcript, timeline, summary, video and decision), and
the recruiting decision, to read and - with decisions:write - to record."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from interviews import services
from interviews.models import InterviewSession, SessionStatus

from ..serializers import (
    DecisionSerializer,
    SessionEventSerializer,
    SessionListSerializer,
    SummarySerializer,
    TranscriptEntrySerializer,
    VideoSegmentSerializer,
)
from .base import BadRequest, Cursor, TenantAPIView

FILTERS = [
    OpenApiParameter("candidate", str, description="Only this candidate's sessions (id)."),
    OpenApiParameter("status", str, enum=SessionStatus.values, description="Only this status."),
    OpenApiParameter("created_after", str, description="ISO 8601: created at or after."),
    OpenApiParameter("created_before", str, description="ISO 8601: created before."),
    OpenApiParameter("cursor", str, description="The page after (or before) this one."),
    OpenApiParameter("page_size", int, description="At most API_MAX_PAGE_SIZE."),
]

SessionDetail = inline_serializer(
    "SessionDetail",
    {
        "session": SessionListSerializer(),
        "transcript": TranscriptEntrySerializer(many=True),
        "timeline": SessionEventSerializer(many=True),
        "video": VideoSegmentSerializer(many=True),
        "summary": SummarySerializer(
            allow_null=True, help_text="With summaries:read; null before one is written."
        ),
        "decision": DecisionSerializer(allow_null=True, help_text="With decisions:read."),
    },
)


TRANSCRIPT_FIELDS = TranscriptEntrySerializer.Meta.fields
EVENT_FIELDS = SessionEventSerializer.Meta.fields
_moment = serializers.DateTimeField()


def _rows(queryset, fields) -> list[dict]:
    """What the serializer of ``fields`` answers (the schema documents it), from plain
    tuples: a long transcript is read without building a model and a field per value."""
    at = fields.index("created_at")
    rows = []
    for values in queryset.values_list(*fields):
        row = dict(zip(fields, values, strict=True))
        row["created_at"] = _moment.to_representation(values[at])
        rows.append(row)
    return rows


def _datetime(request, name):
    value = request.query_params.get(name)
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise BadRequest(f"{name} must be an ISO 8601 date and time.", code="invalid_filter")
    return parsed


class SessionList(TenantAPIView):
    pagination_class = Cursor  # also what the schema documents
    required_scopes = {"GET": "sessions:read"}

    @extend_schema(
        tags=["sessions"],
        parameters=FILTERS,
        responses=SessionListSerializer(many=True),
        summary="List interview sessions, newest first (cursor pages)",
    )
    def get(self, request):
        rows = InterviewSession.objects.filter(tenant_id=self.client.tenant_id)
        params = request.query_params
        if params.get("candidate"):
            serializers.UUIDField().run_validation(params["candidate"])
            rows = rows.filter(candidate_id=params["candidate"])
        if params.get("status"):
            if params["status"] not in SessionStatus.values:
                raise BadRequest("Unknown status.", code="invalid_filter")
            rows = rows.filter(status=params["status"])
        if after := _datetime(request, "created_after"):
            rows = rows.filter(created_at__gte=after)
        if before := _datetime(request, "created_before"):
            rows = rows.filter(created_at__lt=before)
        pages = self.pagination_class()
        page = pages.paginate_queryset(rows, request, view=self)
        return pages.get_paginated_response(SessionListSerializer(page, many=True).data)


class SessionRead(TenantAPIView):
    required_scopes = {"GET": "sessions:read"}

    @extend_schema(
        tags=["sessions"],
        responses=SessionDetail,
        summary="Read a session: transcript, timeline, video, summary and decision",
    )
    def get(self, request, session_id):
        session = get_object_or_404(
            InterviewSession.objects.select_related("summary"),
            pk=session_id,
            tenant_id=self.client.tenant_id,
        )
        scopes = request.user.claims.scopes
        summary = getattr(session, "summary", None) if "summaries:read" in scopes else None
        return Response(
            {
                "session": SessionListSerializer(session).data,
                "transcript": _rows(session.transcript.order_by("seq"), TRANSCRIPT_FIELDS),
                "timeline": _rows(session.events.order_by("created_at", "pk"), EVENT_FIELDS),
                "video": VideoSegmentSerializer(
                    session.video_segments.order_by("started_at", "pk"), many=True
                ).data,
                "summary": SummarySerializer(summary).data if summary else None,
                "decision": DecisionSerializer(session).data
                if "decisions:read" in scopes
                else None,
            }
        )


class SessionDecision(TenantAPIView):
    required_scopes = {"GET": "decisions:read", "PUT": "decisions:write"}

    def session(self, session_id) -> InterviewSession:
        return get_object_or_404(InterviewSession, pk=session_id, tenant_id=self.client.tenant_id)

    @extend_schema(tags=["decisions"], responses=DecisionSerializer, summary="Read the decision")
    def get(self, request, session_id):
        return Response(DecisionSerializer(self.session(session_id)).data)

    @extend_schema(
        tags=["decisions"],
        request=DecisionSerializer,
        responses=DecisionSerializer,
        examples=[
            OpenApiExample(
                "Advance", value={"decision": "advance", "note": "Strong on data modelling."}
            )
        ],
        summary="Record the recruiting decision (the candidate's status follows it)",
    )
    def put(self, request, session_id):
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.session_record_decision(
            session=self.session(session_id),
            decision=data.validated_data["decision"],
            note=data.validated_data.get("decision_note", ""),
            actor=request.user,
        )
        return Response(DecisionSerializer(session).data)
