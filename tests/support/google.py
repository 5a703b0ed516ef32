"""Google's side of a sign-in, faked the way allauth's own test suite does it: the project's
allauth configuration and views run for real; only Google's token endpoint is a stand-in."""

import time
from unittest import mock
from urllib.parse import parse_qs, urlparse

import jwt
import requests
from django.urls import reverse

GOOGLE = {
    "google": {
        "APP": {"client_id": "test-client-id", "secret": "test-secret"},
        "SCOPE": ["openid", "email", "profile"],
        "EMAIL_AUTHENTICATION": True,
    }
}


def google_sign_in(client, email: str, *, next_url: str | None = None):
    """Start a Google sign-in as ``email`` and come back from Google. Returns the callback's
    response and the mock that stood in for Google's token endpoint."""
    data = {"process": "login", **({"next": next_url} if next_url else {})}
    response = client.post(reverse("google_login"), data)
    state = parse_qs(urlparse(response["Location"]).query)["state"][0]
    now = int(time.time())
    id_token = jwt.encode(
        {
            "iss": "https://accounts.google.com",
            "aud": "test-client-id",
            "sub": "108204268033311374519",
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + 3600,
        },
        "any-key-google-would-sign-with-its-own-rsa-key",
        algorithm="HS256",
    )
    token_response = mock.Mock(status_code=200, headers={"content-type": "application/json"})
    token_response.json.return_value = {
        "access_token": "ya29.test",
        "expires_in": 3600,
        "token_type": "Bearer",
        "id_token": id_token,
    }
    with mock.patch.object(requests.Session, "request", return_value=token_response) as post:
        callback = client.get(reverse("google_callback"), {"code": "test-code", "state": state})
    return callback, post
