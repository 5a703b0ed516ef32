"""Access tokens: JWTs (PyJWT, HS256) signed with the first key of API_JWT_KEYS and verified
with any of them, so keys rotate without cutting off tokens already out: add a new key first,
remove the old one once API_TOKEN_TTL_SECONDS went by (docs/api.md)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
from django.conf import settings


class InvalidToken(Exception):
    """The token is malformed, signed with an unknown key, expired, or not for this API."""


@dataclass(frozen=True)
class AccessClaims:
    client_pk: str
    tenant_id: str
    scopes: frozenset[str]
    jti: str
    expires_at: int


def _keys() -> list[tuple[str, str]]:
    return list(settings.API_JWT_KEYS)


def token_issue(*, client) -> tuple[str, int]:
    """A signed access token for ``client`` and how many seconds it is valid."""
    kid, key = _keys()[0]
    now = int(time.time())
    ttl = settings.API_TOKEN_TTL_SECONDS
    claims = {
        "iss": settings.API_JWT_ISSUER,
        "aud": settings.API_JWT_AUDIENCE,
        "sub": str(client.pk),
        "client_id": client.client_id,
        "tenant": str(client.tenant_id),
        "scope": " ".join(sorted(client.scopes)),
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid}), ttl


def token_verify(token: str) -> AccessClaims:
    """The claims of a valid token; raises InvalidToken otherwise."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed") from exc
    key = dict(_keys()).get(kid)
    if key is None:
        raise InvalidToken("unknown key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=settings.API_JWT_AUDIENCE,
            issuer=settings.API_JWT_ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "tenant"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    return AccessClaims(
        client_pk=str(claims["sub"]),
        tenant_id=str(claims["tenant"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        jti=str(claims["jti"]),
        expires_at=int(claims["exp"]),
    )
