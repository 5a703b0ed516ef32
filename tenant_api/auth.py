"""Who is calling: an access token (tokens.py) names an API client of one tenant; the client
must still be active, its tenant active, and the call from an allowed network. Then the
operation's scope and the client's rate limit."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from core import requestcontext, rls
from tenants.models import TenantStatus
from tenants.selectors import networks_allow

from .models import ApiClient
from .tokens import AccessClaims, InvalidToken, token_verify


@dataclass(frozen=True)
class ApiPrincipal:
    """``request.user`` for the tenant API: the client, not a person."""

    client: ApiClient
    claims: AccessClaims
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def label(self) -> str:
        return f"api:{self.client.client_id}"

    @property
    def audit_actor_label(self) -> str:  # tenants.services.audit: who acted
        return self.label


class InvalidAccessToken(exceptions.AuthenticationFailed):
    default_code = "invalid_token"
    default_detail = "The access token is missing, invalid or expired."


def client_network_allowed(client: ApiClient) -> bool:
    """Whether the current request's address is in the client's networks, or (it has none)
    the company's console networks; no list at all allows every address."""
    networks = client.allowed_networks or client.tenant.allowed_admin_networks or []
    return networks_allow(networks, requestcontext.client_ip.get())


class ApiClientTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise InvalidAccessToken()
        try:
            claims = token_verify(parts[1].decode("ascii"))
        except (InvalidToken, UnicodeDecodeError) as exc:
            raise InvalidAccessToken() from exc
        # The token's tenant for the rest of the request: the view keeps this context
        # (TenantAPIView.initial) and ends it with the response.
        scope = contextlib.ExitStack()
        scope.enter_context(rls.tenant_context(claims.tenant_id))
        try:
            client = (
                ApiClient.objects.select_related("tenant")
                .filter(pk=claims.client_pk, tenant_id=claims.tenant_id)
                .first()
            )
            if client is None or client.revoked_at is not None:
                raise exceptions.AuthenticationFailed(
                    "This API client was revoked.", code="client_revoked"
                )
            if client.tenant.status != TenantStatus.ACTIVE:
                raise exceptions.PermissionDenied(
                    "This company is suspended.", code="tenant_suspended"
                )
            if not client_network_allowed(client):
                raise exceptions.PermissionDenied(
                    "This API client may not call from this address.", code="network_not_allowed"
                )
        except BaseException:
            scope.close()
            raise
        request.tenant_scope = scope
        return ApiPrincipal(client=client, claims=claims), claims

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasScope(permissions.BasePermission):
    """The view's ``required_scopes`` maps HTTP methods to the scope each needs."""

    def has_permission(self, request, view):
        if not isinstance(request.user, ApiPrincipal):
            return False
        if request.method == "OPTIONS":
            return True  # what the operation accepts: no data of the tenant's
        method = "GET" if request.method == "HEAD" else request.method
        needed = view.required_scopes.get(method)
        if needed is None:
            return False
        # The token's scopes, less any taken from the client since it was issued.
        if needed not in request.user.claims.scopes or needed not in request.user.client.scopes:
            raise exceptions.PermissionDenied(
                f"This operation needs the {needed} scope.", code="insufficient_scope"
            )
        return True


class ApiClientThrottle(throttling.SimpleRateThrottle):
    """API_RATE requests per client (a 429 with Retry-After beyond it)."""

    scope = "api"

    def get_rate(self):
        return settings.API_RATE

    def get_cache_key(self, request, view):
        principal = request.user
        if not isinstance(principal, ApiPrincipal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": principal.client.pk}


class ApiClientTokenScheme(OpenApiAuthenticationExtension):
    """Documents the access token in the OpenAPI schema."""

    target_class = ApiClientTokenAuthentication
    name = "ApiAccessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /api/v1/oauth/token (client credentials).",
        }
