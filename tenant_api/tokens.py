"""Access tokens: JWTs (PyJWT, HS256) signed with the first key of API_JWT_KEYS and verified
with any of them, so keys rotate without cutting off tokens already out: add a new key first,
remove the old one once API_TOKEN_TTL_SECONDS went by (docs/api.md). Signing and verifying
live in core.oauth, shared with the operator API, whose tokens carry another audience."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from core.oauth import InvalidToken, jwt_issue, jwt_verify

__all__ = ["AccessClaims", "InvalidToken", "token_issue", "token_verify"]


@dataclass(frozen=True)
class AccessClaims:
    client_pk: str
    tenant_id: str
    scopes: frozenset[str]
    jti: str
    expires_at: int


def token_issue(*, client) -> tuple[str, int]:
    """A signed access token for ``client`` and how many seconds it is valid."""
    return jwt_issue(
        audience=settings.API_JWT_AUDIENCE,
        subject=str(client.pk),
        claims={
            "client_id": client.client_id,
            "tenant": str(client.tenant_id),
            "scope": " ".join(sorted(client.scopes)),
        },
    )


def token_verify(token: str) -> AccessClaims:
    """The claims of a valid token; raises InvalidToken otherwise."""
    claims = jwt_verify(token, audience=settings.API_JWT_AUDIENCE, require=("tenant",))
    return AccessClaims(
        client_pk=str(claims["sub"]),
        tenant_id=str(claims["tenant"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        jti=str(claims["jti"]),
        expires_at=int(claims["exp"]),
    )
