"""``POST /api/v1/oauth/token``: the OAuth 2 client-credentials grant (RFC 6749 section 4.4).
Its answers follow the RFC, not the rest of the API's error shape, so that OAuth client
libraries understand them: ``{"error": "invalid_client", "error_description": ...}``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import parsers
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.oauth import (
    ClientCredentialsThrottle,
    client_credentials_grant,
    token_endpoint_schema,
)
from tenants.models import TenantStatus

from ..auth import client_network_allowed
from ..services import InvalidClient, api_client_authenticate, api_token_exchange


def _authenticate(client_id: str, secret: str):
    try:
        return api_client_authenticate(client_id=client_id, secret=secret)
    except InvalidClient:
        return None


def _refusal(client) -> str | None:
    if client.tenant.status != TenantStatus.ACTIVE:
        return "This company is suspended."
    if not client_network_allowed(client):
        return "This client may not call from this address."
    return None


def _exchange(client) -> tuple[str, int, str]:
    token, ttl = api_token_exchange(client=client)
    return token, ttl, " ".join(client.scopes)


class TokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientCredentialsThrottle]
    parser_classes = [parsers.FormParser, *api_settings.DEFAULT_PARSER_CLASSES]

    @token_endpoint_schema(
        name="",
        tags=["tenant API"],
        summary="Exchange an API client's id and secret for an access token (about 10 minutes)",
        ids=("cl_...", "sk_..."),
        scope="candidates:read candidates:write",
        responses={
            403: OpenApiResponse(
                description="unauthorized_client: not from this address, or the company is "
                "suspended"
            ),
        },
    )
    def post(self, request):
        return client_credentials_grant(
            request,
            authenticate=_authenticate,
            exchange=_exchange,
            refusal=_refusal,
        )
