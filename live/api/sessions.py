"""The session views: token refresh, start, heartbeat, end, status and the browser's
transcript. Each is scoped to the one session the token names."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import rls
from core.maintenance import maintenance_current
from interviews import selectors, services
from interviews.models import (
    EndReason,
    InterviewSession,
    SessionStatus,
    Speaker,
    TranscriptSource,
)
from tenants.models import TenantStatus

from .. import tasks
from ..tokens import SessionTokenAuthentication, session_token_issue
from .errors import Conflict, UnderMaintenance
from .permissions import IsSessionOwner
from .schema import SessionStatusOutputSerializer, error_responses

TRANSCRIPT_GRACE = timedelta(minutes=5)


class SessionAPI(APIView):
    authentication_classes = [SessionTokenAuthentication]
    permission_classes = [IsSessionOwner]

    def load(self, request) -> InterviewSession:
        claims = request.auth
        session = selectors.session_for_candidate(
            claims.session_id, claims.user_id, tenant_id=claims.tenant_id
        )
        if session is None:
            raise exceptions.NotFound("No such interview session.")
        return session

    def tenant(self, request):
        return rls.tenant_context(request.auth.tenant_id)


class SessionTokenRefreshView(SessionAPI):
    @extend_schema(
        request=None,
        responses={
            200: inline_serializer(
                "SessionToken",
                {"token": serializers.CharField(), "expires_in": serializers.IntegerField()},
            ),
            **error_responses(409),
        },
        summary="Exchange a valid session token for a fresh one while the session is active",
    )
    def post(self, request, session_id):
        with self.tenant(request):
            session = self.load(request)
            if session.is_terminal:
                raise Conflict()
        token = session_token_issue(
            session_id=session.pk, user_id=request.auth.user_id, tenant_id=session.tenant_id
        )
        return Response({"token": token, "expires_in": settings.SESSION_TOKEN_TTL_SECONDS})


class SessionStartView(SessionAPI):
    class StartInputSerializer(serializers.Serializer):
        client_info = serializers.DictField(required=False, default=dict)

        def validate_client_info(self, value):
            if len(str(value)) > 2000:
                raise serializers.ValidationError("Too much client information.")
            return value

    @extend_schema(
        request=StartInputSerializer,
        responses={
            200: SessionStatusOutputSerializer,
            **error_responses(400, 403, 409, 413, 503),
        },
        summary="The interview page opened: record the client, get the session state",
    )
    def post(self, request, session_id):
        data = self.StartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with self.tenant(request):
            session = self.load(request)
            if session.is_terminal:
                raise Conflict()
            if session.status == SessionStatus.PENDING and (maintenance := maintenance_current()):
                # Maintenance: no new interview starts; one already under way goes on.
                raise UnderMaintenance(maintenance)
            if (
                session.status == SessionStatus.PENDING
                and session.tenant.status != TenantStatus.ACTIVE
            ):
                # A suspended company starts no new interview; one already on a call goes on.
                raise exceptions.PermissionDenied(
                    "This company's interview account is suspended.", code="tenant_suspended"
                )
            session.client_info = data.validated_data["client_info"]
            session.save(update_fields=["client_info", "updated_at"])
            services.session_event_record(session=session, kind="page.opened", data={})
            return Response(SessionStatusOutputSerializer(session).data)


class SessionHeartbeatView(SessionAPI):
    class HeartbeatInputSerializer(serializers.Serializer):
        connection_state = serializers.ChoiceField(
            ["new", "connecting", "connected", "disconnected", "failed", "closed"],
            required=False,
            default="",
        )

    @extend_schema(
        request=HeartbeatInputSerializer,
        responses={200: SessionStatusOutputSerializer, **error_responses(400, 413)},
        summary="The page is still there (and how its connection is)",
    )
    def post(self, request, session_id):
        data = self.HeartbeatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with self.tenant(request):
            session = self.load(request)
            if not session.is_terminal:
                services.session_heartbeat(
                    session=session, connection_state=data.validated_data["connection_state"]
                )
            return Response(SessionStatusOutputSerializer(session).data)


class SessionEndView(SessionAPI):
    @extend_schema(
        request=None,
        responses={200: SessionStatusOutputSerializer, **error_responses()},
        summary="The candidate ends the interview",
    )
    def post(self, request, session_id):
        with self.tenant(request):
            session = self.load(request)
            if services.session_end(session=session, reason=EndReason.CANDIDATE_ENDED):
                tasks.hangup_call.delay_on_commit(
                    str(session.pk), str(session.tenant_id), session.provider_call_id
                )
            session.refresh_from_db()
            return Response(SessionStatusOutputSerializer(session).data)


class SessionStatusView(SessionAPI):
    @extend_schema(
        responses={200: SessionStatusOutputSerializer, **error_responses()},
        summary="The session's state and time left",
    )
    def get(self, request, session_id):
        with self.tenant(request):
            return Response(SessionStatusOutputSerializer(self.load(request)).data)


class TranscriptEntryInputSerializer(serializers.Serializer):
    item_id = serializers.CharField(
        max_length=128,
        help_text="The provider's conversation item id; an entry is stored once per item id.",
    )
    speaker = serializers.ChoiceField(
        [Speaker.INTERVIEWER, Speaker.CANDIDATE], help_text="Who said it."
    )
    text = serializers.CharField(
        max_length=services.MAX_TRANSCRIPT_TEXT, help_text="What was said, as transcribed."
    )
    started_ms = serializers.IntegerField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="When the utterance began, in milliseconds from the start of the call.",
    )
    ended_ms = serializers.IntegerField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="When the utterance ended, in milliseconds from the start of the call.",
    )
    before_item_ids = serializers.ListField(
        child=serializers.CharField(max_length=128),
        max_length=50,
        required=False,
        help_text="Item ids of entries already sent that come after this one in the "
        "conversation (its transcription finished after they were said): it is placed before "
        "the first of them that is stored.",
    )


class TranscriptBatchView(SessionAPI):
    """The browser's copy of the transcript, a fallback for what the server's sideband missed."""

    class TranscriptBatchInputSerializer(serializers.Serializer):
        entries = serializers.ListField(
            child=TranscriptEntryInputSerializer(),
            min_length=1,
            max_length=50,
            help_text="Up to 50 entries, in any order.",
        )

    @extend_schema(
        request=TranscriptBatchInputSerializer,
        responses={
            200: inline_serializer(
                "TranscriptBatchResult",
                {
                    "accepted": serializers.IntegerField(help_text="Entries newly stored."),
                    "ignored": serializers.IntegerField(
                        help_text="Entries already stored (by the server or an earlier batch)."
                    ),
                },
            ),
            **error_responses(400, 409, 413),
        },
        summary="Add transcript entries seen by the browser (idempotent by item id)",
    )
    def post(self, request, session_id):
        data = self.TranscriptBatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with self.tenant(request):
            session = self.load(request)
            closed_at = timezone.now() - TRANSCRIPT_GRACE
            if session.is_terminal and (session.ended_at or closed_at) <= closed_at:
                raise Conflict("This interview ended; its transcript is closed.")
            accepted = 0
            for entry in data.validated_data["entries"]:
                _, created = services.transcript_append(
                    session=session,
                    speaker=entry["speaker"],
                    text=entry["text"],
                    item_id=entry["item_id"],
                    source=TranscriptSource.CLIENT,
                    started_ms=entry.get("started_ms"),
                    ended_ms=entry.get("ended_ms"),
                    before_item_ids=entry.get("before_item_ids", ()),
                )
                accepted += created
        total = len(data.validated_data["entries"])
        return Response({"accepted": accepted, "ignored": total - accepted})


#: What the page may put on the session's timeline itself: why video is missing.
CLIENT_EVENT_KINDS = (
    "video.unavailable",  # nothing is recorded (no camera, the segment API failed, ...)
    "video.upload_delayed",  # a part keeps failing; the page keeps it and tries again
    "video.upload_resumed",  # the parts go up again
    "video.upload_failed",  # the page gave up on a recording's remaining parts
)
CLIENT_EVENT_GROUPS = (
    ("video.upload_delayed", "video.upload_resumed"),
    ("video.unavailable", "video.upload_failed"),
)
#: At most this many client events of a group per session: a looping page cannot flood the
#: timeline.
MAX_CLIENT_EVENTS = 20


class SessionEventView(SessionAPI):
    """The page's own notes on the timeline (only the whitelisted kinds, a short reason)."""

    class EventInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(CLIENT_EVENT_KINDS, help_text="What happened.")
        reason = serializers.RegexField(
            r"^[A-Za-z0-9_.:-]{1,64}$",
            help_text="A short code, for example camera_denied or upload_http_500.",
        )
        segment_id = serializers.UUIDField(
            required=False, allow_null=True, help_text="The video segment concerned, if any."
        )

    @extend_schema(
        request=EventInputSerializer,
        responses={
            200: inline_serializer(
                "SessionEventResult",
                {
                    "recorded": serializers.BooleanField(
                        help_text="False once the session has MAX_CLIENT_EVENTS of them."
                    )
                },
            ),
            **error_responses(400, 409, 413),
        },
        summary="Record why video is missing on the session's timeline",
    )
    def post(self, request, session_id):
        data = self.EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with self.tenant(request):
            session = self.load(request)
            closed_at = timezone.now() - TRANSCRIPT_GRACE
            if session.is_terminal and (session.ended_at or closed_at) <= closed_at:
                raise Conflict("This interview ended; its timeline is closed.")
            # Counted per group: a flapping network's delayed/resumed notes never use up
            # the room of the note that says why video is missing.
            group = next(g for g in CLIENT_EVENT_GROUPS if data.validated_data["kind"] in g)
            count = session.events.filter(kind__in=group).count()
            if count >= MAX_CLIENT_EVENTS:
                return Response({"recorded": False})
            event = {"reason": data.validated_data["reason"], "via": "page"}
            if session.template.video_required:
                event["video_required"] = True  # the console points it out
            if data.validated_data.get("segment_id"):
                event["segment_id"] = str(data.validated_data["segment_id"])
            services.session_event_record(
                session=session, kind=data.validated_data["kind"], data=event
            )
        return Response({"recorded": True})
