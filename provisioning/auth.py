"""Who is calling the operator API: an access token with the operator audience naming an
active operator client, from one of OPERATOR_API_ALLOWED_NETWORKS."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, throttling
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from core import requestcontext

from .models import OperatorClient
from .services import operator_client_for_token, operator_network_allowed
from .tokens import InvalidToken, operator_token_verify


@dataclass(frozen=True)
class OperatorPrincipal:
    """``request.user`` for the operator API: the client, not a person."""

    client: OperatorClient
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def label(self) -> str:
        return f"operator-api:{self.client.client_id}"

    @property
    def audit_actor_label(self) -> str:  # tenants.services.audit: who acted
        return self.label


class InvalidOperatorToken(exceptions.AuthenticationFailed):
    default_code = "invalid_token"
    default_detail = "The access token is missing, invalid or expired."


def network_check() -> None:
    """Refuse (403 network_not_allowed) a call from outside OPERATOR_API_ALLOWED_NETWORKS:
    before the credentials are looked at, token exchange included."""
    if not operator_network_allowed(requestcontext.client_ip.get()):
        raise exceptions.PermissionDenied(
            "The operator API may not be called from this address.", code="network_not_allowed"
        )


class OperatorTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise InvalidOperatorToken()
        try:
            client_pk = operator_token_verify(parts[1].decode("ascii"))
        except (InvalidToken, UnicodeDecodeError) as exc:
            raise InvalidOperatorToken() from exc
        client = operator_client_for_token(client_pk)
        if client is None:
            raise exceptions.AuthenticationFailed(
                "This operator client was revoked.", code="client_revoked"
            )
        return OperatorPrincipal(client=client), client_pk

    def authenticate_header(self, request):
        return 'Bearer realm="operator"'


class OperatorThrottle(throttling.SimpleRateThrottle):
    """API_RATE requests per operator client."""

    scope = "operator_api"

    def get_rate(self):
        return settings.API_RATE

    def get_cache_key(self, request, view):
        principal = request.user
        if not isinstance(principal, OperatorPrincipal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": principal.client.pk}


class OperatorTokenScheme(OpenApiAuthenticationExtension):
    """Documents the operator token in the OpenAPI schema."""

    target_class = OperatorTokenAuthentication
    name = "OperatorAccessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An operator token from POST /api/v1/operator/oauth/token.",
        }
