"""The candidate's session credential: signed, expiring, bound to one session and one user.

The interview page holds it and sends it as ``Authorization: Bearer <token>`` on every API call;
it names nothing but its own session, so it reaches no other session's data."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

SALT = "interviews.session-token.v1"


@dataclass(frozen=True)
class SessionClaims:
    session_id: str
    user_id: int
    tenant_id: str


class CandidatePrincipal:
    """The API's request.user for a session token: only the ids, no database read."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, claims: SessionClaims):
        self.pk = self.id = claims.user_id
        self.claims = claims

    def __str__(self):
        return f"candidate {self.pk}"


def session_token_issue(*, session_id, user_id, tenant_id) -> str:
    payload = {"s": str(session_id), "u": int(user_id), "t": str(tenant_id)}
    return signing.dumps(payload, salt=SALT, compress=False)


def session_token_read(token: str) -> SessionClaims:
    """Raises signing.BadSignature (or its SignatureExpired) for anything not valid now."""
    payload = signing.loads(token, salt=SALT, max_age=settings.SESSION_TOKEN_TTL_SECONDS)
    return SessionClaims(session_id=payload["s"], user_id=int(payload["u"]), tenant_id=payload["t"])


class SessionTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2 or len(header[1]) > 512:
            raise exceptions.AuthenticationFailed("Malformed session token.")
        try:
            claims = session_token_read(header[1].decode("ascii", "replace"))
        except signing.SignatureExpired as exc:
            raise exceptions.AuthenticationFailed(
                "The session token has expired; reload the page.", code="token_expired"
            ) from exc
        except (signing.BadSignature, KeyError, ValueError, TypeError) as exc:
            raise exceptions.AuthenticationFailed("Invalid session token.") from exc
        return CandidatePrincipal(claims), claims

    def authenticate_header(self, request):
        return self.keyword


class SessionTokenScheme(OpenApiAuthenticationExtension):
    """Documents the session token in the OpenAPI schema."""

    target_class = SessionTokenAuthentication
    name = "SessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The short-lived token the interview page was given for its session.",
        }
