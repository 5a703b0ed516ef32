"""The candidate's session API, used by the interview page with its session token.

Every view is scoped to the one session the token names; another session's id answers 404.
The SDP proxy is asynchronous (adrf): while the provider answers, no thread waits for it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
from datetime import timedelta

import psycopg
from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, parsers, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import rls
from core.dbthreads import recover_connection
from interviews import selectors, services
from interviews.models import (
    EndReason,
    InterviewSession,
    SessionStatus,
    Speaker,
    TranscriptSource,
)

from . import provider as realtime
from . import tasks
from .tokens import SessionTokenAuthentication, session_token_issue
from .worker import ATTACH_CHANNEL

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
TRANSCRIPT_GRACE = timedelta(minutes=5)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "session_not_connectable"
    default_detail = "This interview session has ended."


class BadGateway(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "upstream_error"
    default_detail = "The interviewer service is unavailable. Please try again."


class GatewayTimeout(exceptions.APIException):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_code = "upstream_timeout"
    default_detail = "The interviewer service did not answer in time. Please try again."


class InterviewerNotConfigured(exceptions.APIException):
    """The provider refused the platform's own setup (a bad key, no access, no quota): trying
    again cannot help, so the page stops and says the company has been told."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "interviewer_not_configured"
    default_detail = "The interview can't start right now; we've told the company."


class InterviewerBusy(exceptions.APIException):
    """The provider is rate limiting the platform: try again after Retry-After seconds."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "upstream_rate_limited"
    default_detail = "The interviewer service is busy. Please try again in a moment."

    def __init__(self, wait: float | None):
        super().__init__()
        # DRF sends it as Retry-After (whole seconds, never less than the provider asked).
        self.wait = math.ceil(wait) if wait else None


class SDPParser(parsers.BaseParser):
    media_type = "application/sdp"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > MAX_SDP_BYTES:
            raise PayloadTooLarge(f"An SDP offer is at most {MAX_SDP_BYTES // 1024} KB.")
        body = stream.read(MAX_SDP_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_SDP_BYTES:
            raise PayloadTooLarge(f"An SDP offer is at most {MAX_SDP_BYTES // 1024} KB.")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError("The SDP offer must be UTF-8 text.") from exc


class IsSessionOwner(permissions.BasePermission):
    """The token's session is the one in the URL (else 404, as for a missing session)."""

    def has_permission(self, request, view):
        claims = request.auth
        if claims is None:
            raise exceptions.NotAuthenticated("A session token is required.")
        if str(view.kwargs.get("session_id")) != claims.session_id:
            raise exceptions.NotFound("No such interview session.")
        return True


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


# --- What the schema tells clients -----------------------------------------------------------

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
        409: "The session has ended",
        413: "Request body too large",
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
        responses={200: SessionStatusOutputSerializer, **error_responses(400, 409, 413)},
        summary="The interview page opened: record the client, get the session state",
    )
    def post(self, request, session_id):
        data = self.StartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with self.tenant(request):
            session = self.load(request)
            if session.is_terminal:
                raise Conflict()
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
                )
                accepted += created
        total = len(data.validated_data["entries"])
        return Response({"accepted": accepted, "ignored": total - accepted})


# --- The SDP proxy --------------------------------------------------------------------------


class EventLoopAPIView(AsyncAPIView):
    """An adrf view whose DRF checks run on the event loop. adrf hands ``initial``
    (authentication, permissions, throttles, content negotiation) to a worker thread in case
    they touch the database; a view whose checks do not (the session token is verified by its
    signature, the permission compares ids) saves that thread hand-over on every request."""

    async def async_dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = request.method.lower()
            handler = (
                getattr(self, method, self.http_method_not_allowed)
                if method in self.http_method_names
                else self.http_method_not_allowed
            )
            response = handler(request, *args, **kwargs)
            if inspect.isawaitable(response):
                response = await response
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = "The service is busy. Please try again in a moment."
    wait = 2  # seconds: DRF sends it as Retry-After


@recover_connection
def _record_failure(target: services.ConnectTarget, error: realtime.ProviderError) -> None:
    with rls.tenant_context(target.tenant_id):
        session = InterviewSession.objects.get(pk=target.session_id)
        # The company's timeline: a configuration error is theirs (or the operators') to fix.
        kind = "provider.misconfigured" if error.misconfigured else "provider.call_failed"
        services.session_event_record(
            session=session,
            kind=kind,
            data={"code": error.code, "status": getattr(error, "status", None)},
        )


def _hang_up_later(target: services.ConnectTarget, call_id: str) -> None:
    try:
        tasks.hangup_call.delay(target.session_id, target.tenant_id, call_id)
    except Exception:  # the broker is away; the expiry task still ends stale sessions' calls
        logger.exception("could not queue a hang-up", extra={"call": call_id})


_bookkeeping: set[asyncio.Task] = set()  # the event loop keeps only weak references to tasks


async def _keep_or_hang_up(
    target: services.ConnectTarget, provider_name: str, call: realtime.Call, config: dict
) -> exceptions.APIException | None:
    """Record the provider's new call on the session, hang up the call it replaces, or - when
    the session ended meanwhile or the call cannot be recorded - hang up the new call. Returns
    the error to answer with, if any (it never raises: nobody may be waiting for it)."""
    hang_up = sync_to_async(_hang_up_later, thread_sensitive=False)
    try:
        replaced = await services.session_connect_async(
            target,
            notify_channel=ATTACH_CHANNEL,  # wakes the realtime workers on commit
            provider=provider_name,
            call_id=call.call_id,
            model=config["model"],
            voice=config["audio"]["output"]["voice"],
        )
    except services.IllegalTransition:
        await hang_up(target, call.call_id)
        return Conflict()
    except Exception:
        logger.exception("could not record a new call", extra={"call": call.call_id})
        await hang_up(target, call.call_id)
        return DatabaseUnavailable()
    if replaced:  # a reconnect: the old call must not go on talking either
        await hang_up(target, replaced)
    return None


class SessionSDPView(EventLoopAPIView):
    """Browser offer in, provider answer out. The session configuration is built here, on the
    server, from the template; the browser cannot choose it."""

    authentication_classes = [SessionTokenAuthentication]
    permission_classes = [IsSessionOwner]
    parser_classes = [SDPParser]

    @extend_schema(
        request={"application/sdp": OpenApiTypes.STR},
        responses={
            (201, "application/sdp"): OpenApiResponse(OpenApiTypes.STR, "The SDP answer"),
            400: OpenApiResponse(ErrorSerializer, description="Not an SDP offer"),
            **error_responses(),
            409: OpenApiResponse(ErrorSerializer, description="The session has ended"),
            413: OpenApiResponse(ErrorSerializer, description="Offer larger than 64 KB"),
            415: OpenApiResponse(description="Not application/sdp"),
            500: OpenApiResponse(
                ErrorSerializer,
                description="interviewer_not_configured: the provider refused the platform's "
                "configuration (operators are alerted); trying again will not help",
            ),
            502: OpenApiResponse(description="The provider failed or is unreachable"),
            503: OpenApiResponse(
                description="The database is unavailable, or the provider is rate limiting "
                "(upstream_rate_limited); try again after Retry-After seconds"
            ),
            504: OpenApiResponse(description="The provider did not answer in time"),
        },
        summary="Connect: exchange the browser's SDP offer for the provider's answer",
    )
    async def post(self, request, session_id):
        offer = request.data
        if not isinstance(offer, str) or not offer.startswith("v=0") or "m=audio" not in offer:
            raise exceptions.ParseError("The body must be an SDP offer with an audio section.")
        claims = request.auth
        try:
            target = await services.session_connect_target(
                session_id=claims.session_id, user_id=claims.user_id, tenant_id=claims.tenant_id
            )
        except services.SessionNotFound as error:
            raise exceptions.NotFound("No such interview session.") from error
        except services.IllegalTransition as error:
            raise Conflict() from error
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise DatabaseUnavailable() from error
        config = target.config
        provider = realtime.get_provider()
        try:
            call = await provider.create_call(offer_sdp=offer, session=config)
        except realtime.ProviderError as error:
            # A configuration error needs an operator: it is an ERROR, not an outage.
            logger.log(
                logging.ERROR if error.misconfigured else logging.WARNING,
                "provider refused the platform's configuration"
                if error.misconfigured
                else "provider refused a call",
                extra={"code": error.code, "status": getattr(error, "status", None)},
            )
            try:
                await sync_to_async(_record_failure, thread_sensitive=False)(target, error)
            except Exception:  # the provider's answer still decides the response
                logger.exception("could not record a refused call")
            if isinstance(error, realtime.UpstreamTimeout):
                raise GatewayTimeout() from error
            # The provider's own code stays on the server (log and timeline): the browser
            # only needs to know whether to stop, wait as long as asked, or try again.
            if error.misconfigured:
                raise InterviewerNotConfigured() from error
            if error.rate_limited:
                raise InterviewerBusy(error.retry_after) from error
            rejected = isinstance(error, realtime.UpstreamRejected)
            raise BadGateway(code="upstream_error" if rejected else error.code) from error
        # From here the call exists at the provider: it is recorded or hung up even if the
        # browser goes away meanwhile (Django then cancels this view, not the bookkeeping).
        bookkeeping = asyncio.ensure_future(_keep_or_hang_up(target, provider.name, call, config))
        _bookkeeping.add(bookkeeping)
        bookkeeping.add_done_callback(_bookkeeping.discard)
        error = await asyncio.shield(bookkeeping)
        if error is not None:
            raise error
        return HttpResponse(call.answer_sdp, status=201, content_type="application/sdp")
