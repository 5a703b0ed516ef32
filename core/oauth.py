"""What the two client-credentials APIs share (the tenant API, tenant_api/, and the operator
API, provisioning/): HS256 access tokens signed with API_JWT_KEYS, and the OAuth 2
client-credentials token endpoint (RFC 6749 section 4.4).

Each API's tokens carry its own audience, so a token issued for one is refused by the other:
the key set is shared (one rotation procedure, docs/api.md), the audiences are not.

The token endpoint's answers follow the RFC, not the rest of the API's error shape, so that
OAuth client libraries understand them: ``{"error": "invalid_client", ...}``."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable
from urllib.parse import unquote_plus

import jwt
from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, throttling
from rest_framework.response import Response


class InvalidToken(Exception):
    """The token is malformed, signed with an unknown key, expired, or not for this API."""


def _keys() -> list[tuple[str, str]]:
    return list(settings.API_JWT_KEYS)


def jwt_issue(*, audience: str, subject: str, claims: dict) -> tuple[str, int]:
    """A signed access token for ``audience`` and how many seconds it is valid."""
    kid, key = _keys()[0]
    now = int(time.time())
    ttl = settings.API_TOKEN_TTL_SECONDS
    payload = {
        **claims,
        "iss": settings.API_JWT_ISSUER,
        "aud": audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(payload, key, algorithm="HS256", headers={"kid": kid}), ttl


def jwt_verify(token: str, *, audience: str, require: tuple[str, ...] = ()) -> dict:
    """The claims of a valid token for ``audience``; raises InvalidToken otherwise."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed") from exc
    key = dict(_keys()).get(kid)
    if key is None:
        raise InvalidToken("unknown key")
    try:
        return jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=audience,
            issuer=settings.API_JWT_ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", *require]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc


# --- The token endpoint ----------------------------------------------------------------------


def client_credentials(request) -> tuple[str, str]:
    """The client id and secret from HTTP Basic (preferred by the RFC) or the body."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        # RFC 6749 section 2.3.1: both are form-encoded before they are joined.
        return unquote_plus(client_id), unquote_plus(secret)
    data = request_form(request)
    return str(data.get("client_id") or ""), str(data.get("client_secret") or "")


def request_form(request) -> dict:
    """The token request's fields; a body that is not a form or JSON object reads as none
    (the grant then answers OAuth's invalid_request, not the API's parse error)."""
    try:
        data = request.data
    except exceptions.ParseError:
        return {}
    return data if hasattr(data, "get") else {}


def oauth_error(status: int, error: str, description: str, *, realm: str = "api") -> Response:
    response = Response({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = f'Basic realm="{realm}"'
    return response


class ClientCredentialsThrottle(throttling.SimpleRateThrottle):
    """API_TOKEN_RATE exchanges per client id and address: guessing secrets goes nowhere."""

    scope = "api_token"

    def get_rate(self):
        return settings.API_TOKEN_RATE

    def get_cache_key(self, request, view):
        client_id, _ = client_credentials(request)
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{client_id[:40]}:{self.get_ident(request)}",
        }


def client_credentials_grant(
    request,
    *,
    authenticate: Callable[[str, str], object | None],
    exchange: Callable[[object], tuple[str, int, str]],
    refusal: Callable[[object], str | None] | None = None,
    realm: str = "api",
) -> Response:
    """Answer a token request: ``authenticate(client_id, secret)`` gives the client or None
    (unknown, wrong secret, revoked: the answer does not say which), ``refusal(client)``
    why it may not have a token now (None: it may), ``exchange(client)`` its token, lifetime and
    scope."""
    data = request_form(request)
    if data.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.")
    client_id, secret = client_credentials(request)
    if not client_id or not secret:
        return oauth_error(400, "invalid_request", "Give client_id and client_secret.")
    client = authenticate(client_id, secret)
    if client is None:
        return oauth_error(
            401, "invalid_client", "Unknown client, wrong secret or revoked.", realm=realm
        )
    reason = refusal(client) if refusal is not None else None
    if reason:
        return oauth_error(403, "unauthorized_client", reason)
    token, ttl, scope = exchange(client)
    response = Response(
        {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}
    )
    response["Cache-Control"] = "no-store"
    return response


def token_endpoint_schema(
    *,
    name: str,
    tags: list[str],
    summary: str,
    ids: tuple[str, str],
    scope: str,
    responses: dict | None = None,
):
    """The OpenAPI description of a client-credentials token endpoint: its form, its answer,
    OAuth's errors (plus ``responses``), and examples with ``ids`` (the id and secret prefixes)
    and ``scope``. ``name`` prefixes the components' names."""
    client_id, client_secret = ids
    return extend_schema(
        tags=tags,
        request=inline_serializer(
            f"{name}TokenRequest",
            {
                "grant_type": serializers.ChoiceField(["client_credentials"]),
                "client_id": serializers.CharField(required=False),
                "client_secret": serializers.CharField(required=False),
            },
        ),
        responses={
            200: inline_serializer(
                f"{name}TokenResponse",
                {
                    "access_token": serializers.CharField(),
                    "token_type": serializers.ChoiceField(["Bearer"]),
                    "expires_in": serializers.IntegerField(),
                    "scope": serializers.CharField(),
                },
            ),
            400: OpenApiResponse(description="unsupported_grant_type or invalid_request"),
            401: OpenApiResponse(description="invalid_client"),
            429: OpenApiResponse(description="Too many attempts (Retry-After)"),
            **(responses or {}),
        },
        examples=[
            OpenApiExample(
                "Client credentials",
                value={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": client_secret,
                },
                request_only=True,
            ),
            OpenApiExample(
                "A token",
                value={
                    "access_token": "eyJhbGciOi...",
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "scope": scope,
                },
                response_only=True,
            ),
        ],
        summary=summary,
    )
