"""``POST /api/v1/oauth/token``: the OAuth 2 client-credentials grant (RFC 6749 section 4.4).
Its answers follow the RFC, not the rest of the API's error shape, so that OAuth client
libraries understand them: ``{"error": "invalid_client", "error_description": ...}``."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import parsers, serializers, throttling
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ..auth import client_network_allowed
from ..services import InvalidClient, api_client_authenticate, api_token_exchange


class TokenThrottle(throttling.SimpleRateThrottle):
    """API_TOKEN_RATE exchanges per client id and address: guessing secrets goes nowhere."""

    scope = "api_token"

    def get_rate(self):
        return settings.API_TOKEN_RATE

    def get_cache_key(self, request, view):
        client_id, _ = _credentials(request)
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{client_id[:40]}:{self.get_ident(request)}",
        }


def _credentials(request) -> tuple[str, str]:
    """The client id and secret from HTTP Basic (preferred by the RFC) or the body."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    data = request.data if hasattr(request.data, "get") else {}
    return str(data.get("client_id") or ""), str(data.get("client_secret") or "")


def _oauth_error(status: int, error: str, description: str) -> Response:
    response = Response({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="api"'
    return response


class TokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]
    parser_classes = [parsers.FormParser, *api_settings.DEFAULT_PARSER_CLASSES]

    @extend_schema(
        tags=["tenant API"],
        request=inline_serializer(
            "TokenRequest",
            {
                "grant_type": serializers.ChoiceField(["client_credentials"]),
                "client_id": serializers.CharField(required=False),
                "client_secret": serializers.CharField(required=False),
            },
        ),
        responses={
            200: inline_serializer(
                "TokenResponse",
                {
                    "access_token": serializers.CharField(),
                    "token_type": serializers.ChoiceField(["Bearer"]),
                    "expires_in": serializers.IntegerField(),
                    "scope": serializers.CharField(),
                },
            ),
            400: OpenApiResponse(description="unsupported_grant_type or invalid_request"),
            401: OpenApiResponse(description="invalid_client"),
            403: OpenApiResponse(description="unauthorized_client: not from this address"),
            429: OpenApiResponse(description="Too many attempts (Retry-After)"),
        },
        examples=[
            OpenApiExample(
                "Client credentials",
                value={
                    "grant_type": "client_credentials",
                    "client_id": "cl_...",
                    "client_secret": "sk_...",
                },
                request_only=True,
            ),
            OpenApiExample(
                "A token",
                value={
                    "access_token": "eyJhbGciOi...",
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "scope": "candidates:read candidates:write",
                },
                response_only=True,
            ),
        ],
        summary="Exchange an API client's id and secret for an access token (about 10 minutes)",
    )
    def post(self, request):
        data = request.data if hasattr(request.data, "get") else {}
        if data.get("grant_type") != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "Only client_credentials is supported."
            )
        client_id, secret = _credentials(request)
        if not client_id or not secret:
            return _oauth_error(400, "invalid_request", "Give client_id and client_secret.")
        try:
            client = api_client_authenticate(client_id=client_id, secret=secret)
        except InvalidClient:
            return _oauth_error(401, "invalid_client", "Unknown client, wrong secret or revoked.")
        if not client_network_allowed(client):
            return _oauth_error(
                403, "unauthorized_client", "This client may not call from this address."
            )
        token, ttl = api_token_exchange(client=client)
        response = Response(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": ttl,
                "scope": " ".join(client.scopes),
            }
        )
        response["Cache-Control"] = "no-store"
        return response
