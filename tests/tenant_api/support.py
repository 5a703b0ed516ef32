"""An API client, its access token, and calls to the tenant API through Django's test client."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.test import Client

from core import rls
from tenant_api.scopes import SCOPES
from tenant_api.services import api_client_create


def token_request(form: dict, **extra):
    """POST /api/v1/oauth/token as OAuth clients send it (a URL-encoded form)."""
    return Client().post(
        "/api/v1/oauth/token",
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        **extra,
    )


@dataclass
class Caller:
    client_id: str
    secret: str
    pk: str
    tenant_id: str
    token: str = ""

    def exchange(self, **extra):
        return token_request(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.secret,
            },
            **extra,
        )

    def authorize(self) -> Caller:
        response = self.exchange()
        assert response.status_code == 200, response.content
        self.token = response.json()["access_token"]
        return self

    def call(self, method: str, path: str, body=None, **headers):
        if not self.token:
            self.authorize()
        client = Client(HTTP_AUTHORIZATION=f"Bearer {self.token}", **headers)
        kwargs = {"content_type": "application/json"} if body is not None else {}
        return getattr(client, method.lower())(
            f"/api/v1/{path}", *([body] if body is not None else []), **kwargs
        )


def make_client(tenant, scopes=tuple(SCOPES), networks=()) -> Caller:
    with rls.tenant_context(tenant.pk):
        client, secret = api_client_create(
            tenant=tenant,
            name="ATS",
            scopes=list(scopes),
            allowed_networks=list(networks),
            actor=None,
        )
    return Caller(client.client_id, secret, str(client.pk), str(tenant.pk))
