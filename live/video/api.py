"""The video endpoints: the candidate's new segment (with the session credential, as the other
candidate views) and the provider's webhook (no credential but its signature)."""

from __future__ import annotations

import contextlib
import json
import logging

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.errors import BadGateway, Conflict, GatewayTimeout
from ..api.schema import ErrorSerializer, error_responses
from ..api.sessions import SessionAPI
from . import segments
from .provider import (
    UploadToken,
    VideoNotFound,
    VideoProviderError,
    VideoUpstreamTimeout,
    get_video_provider,
)

logger = logging.getLogger(__name__)

#: The events that can make a segment ready (fired once per encoded quality).
READY_EVENTS = frozenset({"video.encoding.quality.completed"})


class VideoUnavailable(BadGateway):
    default_code = "video_upstream_error"
    default_detail = "The video service is unavailable. Please try again."


class VideoTimeout(GatewayTimeout):
    default_code = "video_upstream_timeout"
    default_detail = "The video service did not answer in time. Please try again."


def _upload_token_fields() -> dict:
    # Fresh fields each time: a serializer class takes its fields out of the dict it is given.
    return {
        "upload_token": serializers.CharField(help_text="The provider's delegated upload token."),
        "upload_url": serializers.URLField(
            help_text="Where the browser posts the parts (multipart `file` and `videoId`, "
            "`Content-Range: part N/*`, the last `part N/N`)."
        ),
        "expires_at": serializers.DateTimeField(
            allow_null=True, help_text="When the upload token expires."
        ),
    }


class SessionVideoView(SessionAPI):
    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                "VideoSegmentUpload",
                {
                    "segment_id": serializers.UUIDField(help_text="The new recording segment."),
                    "video_id": serializers.CharField(
                        help_text="The provider's video to upload to (the form's videoId)."
                    ),
                    **_upload_token_fields(),
                },
            ),
            **error_responses(409),
            409: OpenApiResponse(
                ErrorSerializer,
                description="session_not_connectable: the session has ended; video_disabled: "
                "the company does not record video",
            ),
            502: OpenApiResponse(ErrorSerializer, description="The video service failed"),
            504: OpenApiResponse(
                ErrorSerializer, description="The video service did not answer in time"
            ),
        },
        summary="Start a video segment: a new private video and an upload token for it "
        "(again after a reconnection: each call is a new segment)",
    )
    def post(self, request, session_id):
        with self.tenant(request):
            session = self.load(request)
        with _provider_errors("a new segment"):
            try:
                new = segments.segment_start(session=session, provider=get_video_provider())
            except segments.SessionNotRecordable as error:
                raise Conflict() from error
            except segments.VideoDisabled as error:
                raise Conflict(
                    "This company does not record video.", code="video_disabled"
                ) from error
        return Response(
            {
                "segment_id": str(new.segment.pk),
                "video_id": new.segment.provider_video_id,
                **_token_json(new.token),
            },
            status=status.HTTP_201_CREATED,
        )


class SessionVideoTokenView(SessionAPI):
    @extend_schema(
        request=None,
        responses={
            200: inline_serializer("VideoUploadToken", _upload_token_fields()),
            **error_responses(404, 409),
            409: OpenApiResponse(
                ErrorSerializer,
                description="segment_closed: the segment takes no more parts; "
                "session_not_connectable: the session ended more than a few minutes ago",
            ),
            502: OpenApiResponse(ErrorSerializer, description="The video service failed"),
            504: OpenApiResponse(
                ErrorSerializer, description="The video service did not answer in time"
            ),
        },
        summary="A fresh upload token for a segment still recording (before the old one "
        "expires, or after an upload was refused with 401)",
    )
    def post(self, request, session_id, segment_id):
        with self.tenant(request), _provider_errors("a renewed upload token"):
            session = self.load(request)
            try:
                token = segments.segment_upload_token(
                    session=session, segment_id=segment_id, provider=get_video_provider()
                )
            except segments.SegmentNotFound as error:
                raise exceptions.NotFound("No such video segment.") from error
            except segments.SegmentClosed as error:
                raise Conflict(
                    "This recording takes no more parts.", code="segment_closed"
                ) from error
            except segments.SessionNotRecordable as error:
                raise Conflict() from error
        return Response(_token_json(token))


def _token_json(token: UploadToken) -> dict:
    return {
        "upload_token": token.token,
        "upload_url": token.upload_url,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


@contextlib.contextmanager
def _provider_errors(what: str):
    """The provider's failures as the API's 502/504 (nothing was written)."""
    try:
        yield
    except VideoUpstreamTimeout as error:
        raise VideoTimeout() from error
    except VideoProviderError as error:
        logger.log(
            logging.ERROR if error.misconfigured else logging.WARNING,
            "video provider refused %s",
            what,
            extra={"code": error.code, "status": getattr(error, "status", None)},
        )
        raise VideoUnavailable() from error


class VideoWebhookView(APIView):
    """api.video's webhook: ``X-Api-Video-Signature`` is the hex HMAC-SHA256 of the raw body
    with the webhook's secret. A redelivery, or one event per encoded quality, changes the
    segment once: the segment's own state is the deduplication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": dict},
        responses={
            200: inline_serializer("VideoWebhookResult", {"changed": serializers.BooleanField()}),
            400: OpenApiResponse(ErrorSerializer, description="Not a JSON event"),
            401: OpenApiResponse(ErrorSerializer, description="Missing or bad signature"),
            502: OpenApiResponse(ErrorSerializer, description="The video service failed"),
        },
        summary="The video provider's events (signed)",
    )
    def post(self, request):
        raw = request.body
        provider = get_video_provider()
        if not provider.verify_webhook(raw, request.headers.get("X-Api-Video-Signature", "")):
            raise exceptions.AuthenticationFailed("Bad signature.", code="bad_signature")
        try:
            event = json.loads(raw)
        except ValueError as error:
            raise exceptions.ParseError("The body must be a JSON event.") from error
        if not isinstance(event, dict) or event.get("type") not in READY_EVENTS:
            return Response({"changed": False})  # nothing we follow: acknowledged
        video_id = str(event.get("videoId") or "")
        if segments.segment_tenant(video_id) is None:
            return Response({"changed": False})  # not ours (or erased): no retry helps
        try:
            state = provider.get_video(video_id)
        except VideoNotFound:
            state = None
        except VideoProviderError as error:  # the provider redelivers on any error status
            raise VideoUnavailable() from error
        changed = segments.segment_apply_state(video_id=video_id, state=state, reason="webhook")
        return Response({"changed": changed is not None})

    def get_authenticate_header(self, request):
        return 'Signature header="X-Api-Video-Signature"'
