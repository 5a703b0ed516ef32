"""An operator client, its access token, and calls to the operator API."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.test import Client

from provisioning.services import operator_client_create


def operator_token_request(form: dict, **extra):
    return Client().post(
        "/api/v1/operator/oauth/token",
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        **extra,
    )


@dataclass
class Operator:
    client_id: str
    secret: str
    token: str = ""

    def exchange(self, **extra):
        return operator_token_request(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.secret,
            },
            **extra,
        )

    def authorize(self) -> Operator:
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
            f"/api/v1/operator/{path}", *([body] if body is not None else []), **kwargs
        )


def make_operator(name: str = "Ops") -> Operator:
    client, secret = operator_client_create(name=name)
    return Operator(client.client_id, secret)
