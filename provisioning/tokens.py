"""Operator access tokens: the tenant API's JWTs (core.oauth, the same keys and rotation) with
the operator audience (OPERATOR_API_AUDIENCE) and no tenant, so neither API takes the other's.
"""

from __future__ import annotations

from django.conf import settings

from core.oauth import InvalidToken, jwt_issue, jwt_verify

__all__ = ["InvalidToken", "operator_token_issue", "operator_token_verify"]


def operator_token_issue(*, client) -> tuple[str, int]:
    """A signed operator token for ``client`` and how many seconds it is valid."""
    return jwt_issue(
        audience=settings.OPERATOR_API_AUDIENCE,
        subject=str(client.pk),
        claims={"client_id": client.client_id},
    )


def operator_token_verify(token: str) -> str:
    """The operator client's primary key a valid token names; raises InvalidToken."""
    claims = jwt_verify(token, audience=settings.OPERATOR_API_AUDIENCE)
    if "tenant" in claims:  # belt and braces: a tenant's token never names a platform client
        raise InvalidToken("not an operator token")
    return str(claims["sub"])
