"""Client credentials for an access token (OAuth 2 client-credentials shape), the token's
claims and key rotation, revocation, networks, scopes and the rate limit."""

import base64
import time

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from core import rls
from tenant_api.models import ApiClient
from tenant_api.services import api_client_revoke
from tenant_api.tokens import token_issue
from tenants.models import AuditEvent
from tests.tenant_api.support import make_client, token_request

pytestmark = pytest.mark.django_db

DEV_KEY = ("k1", "a" * 40)
NEXT_KEY = ("k2", "b" * 40)


@pytest.fixture(autouse=True)
def keys_and_limits(settings):
    settings.API_JWT_KEYS = [DEV_KEY]
    cache.clear()  # the rate limits count in the cache


def test_client_credentials_give_a_short_lived_signed_token(acme_api, tenant_a):
    response = acme_api.exchange()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert "candidates:write" in body["scope"].split()
    claims = jwt.decode(
        body["access_token"],
        DEV_KEY[1],
        algorithms=["HS256"],
        audience=settings.API_JWT_AUDIENCE,
        issuer=settings.API_JWT_ISSUER,
    )
    assert jwt.get_unverified_header(body["access_token"])["kid"] == "k1"
    assert claims["tenant"] == str(tenant_a.pk) and claims["sub"] == acme_api.pk
    assert claims["exp"] - claims["iat"] == 600 and claims["jti"]
    with rls.tenant_context(tenant_a.pk):
        assert ApiClient.objects.get(pk=acme_api.pk).last_used_at is not None
        assert AuditEvent.objects.filter(action="api.token_issued").count() == 1


def test_http_basic_credentials_work_too(acme_api):
    basic = base64.b64encode(f"{acme_api.client_id}:{acme_api.secret}".encode()).decode()
    response = token_request(
        {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "form, status, error",
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials", "client_secret": "wrong"}, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "cl_nobody", "client_secret": "x"},
            401,
            "invalid_client",
        ),
    ],
)
def test_bad_requests_get_oauth_errors(acme_api, form, status, error):
    if form.get("client_secret") == "wrong":
        form = {**form, "client_id": acme_api.client_id}
    response = token_request(form)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_a_revoked_client_gets_no_token_and_its_tokens_stop_at_once(acme_api, tenant_a):
    acme_api.authorize()
    assert acme_api.call("GET", "templates/").status_code == 200
    with rls.tenant_context(tenant_a.pk):
        api_client_revoke(client=ApiClient.objects.get(pk=acme_api.pk), actor=None)
    response = acme_api.call("GET", "templates/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "client_revoked"
    assert acme_api.exchange().status_code == 401


def test_keys_rotate_without_cutting_off_tokens_already_out(acme_api, settings):
    acme_api.authorize()  # signed with k1
    settings.API_JWT_KEYS = [NEXT_KEY, DEV_KEY]  # k2 signs now; k1 still verifies
    assert acme_api.call("GET", "templates/").status_code == 200
    fresh = acme_api.exchange().json()["access_token"]
    assert jwt.get_unverified_header(fresh)["kid"] == "k2"
    settings.API_JWT_KEYS = [NEXT_KEY]  # k1 retired
    assert acme_api.call("GET", "templates/").status_code == 401


@pytest.mark.parametrize(
    "tamper",
    ["expired", "wrong_audience", "wrong_key", "unknown_kid", "none_alg", "garbage"],
)
def test_tokens_that_are_not_ours_or_no_longer_valid_are_refused(acme_api, tamper, tenant_a):
    now = int(time.time())
    claims = {
        "iss": settings.API_JWT_ISSUER,
        "aud": settings.API_JWT_AUDIENCE,
        "sub": acme_api.pk,
        "tenant": str(tenant_a.pk),
        "scope": "templates:read",
        "iat": now,
        "exp": now + 600,
        "jti": "x",
    }
    kid, key = DEV_KEY
    if tamper == "expired":
        claims.update(iat=now - 1200, exp=now - 600)
    elif tamper == "wrong_audience":
        claims["aud"] = "someone-else"
    elif tamper == "wrong_key":
        key = "c" * 40
    elif tamper == "unknown_kid":
        kid = "k9"
    if tamper == "none_alg":
        token = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})
    elif tamper == "garbage":
        token = "not.a.jwt"
    else:
        token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})
    acme_api.token = token
    response = acme_api.call("GET", "templates/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert 'Bearer realm="api"' in response["WWW-Authenticate"]


def test_a_token_names_its_tenant_and_cannot_be_moved_to_another(acme_api, tenant_b):
    """A validly signed token claiming another tenant for this client finds no client."""
    acme_api.authorize()
    claims = jwt.decode(acme_api.token, options={"verify_signature": False})
    claims["tenant"] = str(tenant_b.pk)
    acme_api.token = jwt.encode(claims, DEV_KEY[1], algorithm="HS256", headers={"kid": "k1"})
    assert acme_api.call("GET", "templates/").status_code == 401


def test_a_missing_scope_is_a_403(tenant_a):
    reader = make_client(tenant_a, scopes=["templates:read"])
    response = reader.call("GET", "candidates/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    assert reader.call("GET", "templates/").status_code == 200


def test_no_token_is_a_401(db):
    response = Client().get("/api/v1/candidates/")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "client_networks, tenant_networks, allowed",
    [
        (["10.0.0.0/8"], [], True),
        (["192.0.2.0/24"], [], False),
        ([], ["10.1.2.0/24"], True),
        ([], ["2001:db8::/32"], False),
        (["2001:db8::/32", "10.0.0.0/8"], ["192.0.2.0/24"], True),  # its own list wins
    ],
)
def test_calls_only_from_allowed_networks(
    tenant_a, settings, client_networks, tenant_networks, allowed
):
    settings.CLIENT_IP_HEADER = ""
    with rls.bypass_context():
        type(tenant_a).objects.filter(pk=tenant_a.pk).update(allowed_admin_networks=tenant_networks)
    caller = make_client(tenant_a, networks=client_networks)
    exchange = caller.exchange(REMOTE_ADDR="10.1.2.3")
    assert exchange.status_code == (200 if allowed else 403)
    with rls.tenant_context(tenant_a.pk):  # a token got from an allowed address earlier
        caller.token, _ = token_issue(client=ApiClient.objects.get(pk=caller.pk))
    response = caller.call("GET", "templates/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert exchange.json()["error"] == "unauthorized_client"
        assert response.json()["error"]["code"] == "network_not_allowed"


def test_the_rate_limit_answers_429_with_retry_after(acme_api, settings):
    settings.API_RATE = "3/minute"
    acme_api.authorize()
    statuses = [acme_api.call("GET", "templates/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = acme_api.call("GET", "templates/")
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_guessing_secrets_is_rate_limited(acme_api, settings):
    settings.API_TOKEN_RATE = "2/minute"
    wrong = {"grant_type": "client_credentials", "client_id": acme_api.client_id}
    for _ in range(2):
        assert token_request({**wrong, "client_secret": "no"}).status_code == 401
    assert acme_api.exchange().status_code == 429


def test_every_use_is_audited_with_the_client_and_operation(acme_api, tenant_a):
    acme_api.call("GET", "templates/")
    with rls.tenant_context(tenant_a.pk):
        event = AuditEvent.objects.filter(action="api.request").get()
    assert event.actor_label == f"api:{acme_api.client_id}" and event.actor is None
    assert event.details == {"operation": "GET api/v1/templates/", "status": 200}
    assert event.request_id


def test_a_scope_taken_from_a_client_stops_its_tokens_at_once(acme_api, tenant_a):
    acme_api.authorize()  # holds every scope
    with rls.tenant_context(tenant_a.pk):
        ApiClient.objects.filter(pk=acme_api.pk).update(scopes=["templates:read"])
    assert acme_api.call("GET", "candidates/").status_code == 403
    assert acme_api.call("GET", "templates/").status_code == 200


def test_a_suspended_companys_clients_get_no_token(acme_api, tenant_a):
    with rls.bypass_context():
        type(tenant_a).objects.filter(pk=tenant_a.pk).update(status="suspended")
    response = acme_api.exchange()
    assert response.status_code == 403
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "This company is suspended.",
    }


def test_a_token_request_that_is_not_a_form_gets_an_oauth_error(acme_api):
    response = Client().post("/api/v1/oauth/token", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_basic_credentials_are_form_decoded(tenant_a):
    from urllib.parse import quote_plus

    caller = make_client(tenant_a)
    basic = base64.b64encode(
        f"{quote_plus(caller.client_id)}:{quote_plus(caller.secret)}".encode()
    ).decode()
    response = token_request(
        {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 200


def test_an_error_nobody_answered_leaves_no_tenant_on_the_connection(acme_api, monkeypatch):
    from django.db import connection

    from tenant_api.views import templates

    def explode(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(templates.TemplateList, "get", explode)
    acme_api.authorize()
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {acme_api.token}")
    assert client.get("/api/v1/templates/").status_code == 500
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting('app.tenant_id', true), '')")
        assert cursor.fetchone()[0] == ""


@pytest.mark.parametrize(
    "address, allowed",
    [("10.1.2.3", True), ("192.0.2.7", False), ("2001:db8::5", True), ("2001:db9::1", False)],
)
def test_behind_a_proxy_the_clients_address_is_client_ip_headers(
    tenant_a, settings, address, allowed
):
    settings.CLIENT_IP_HEADER = "Fly-Client-IP"
    caller = make_client(tenant_a, networks=["10.0.0.0/8", "2001:db8::/32"])
    # The proxy's own address is in the list; only the header decides.
    via_proxy = {"REMOTE_ADDR": "10.0.0.1", "HTTP_FLY_CLIENT_IP": address}
    assert caller.exchange(**via_proxy).status_code == (200 if allowed else 403)
    with rls.tenant_context(tenant_a.pk):
        caller.token, _ = token_issue(client=ApiClient.objects.get(pk=caller.pk))
    assert caller.call("GET", "templates/", **via_proxy).status_code == (200 if allowed else 403)


def test_without_client_ip_header_a_forged_address_header_is_ignored(tenant_a, settings):
    settings.CLIENT_IP_HEADER = ""
    with rls.bypass_context():
        type(tenant_a).objects.filter(pk=tenant_a.pk).update(
            allowed_admin_networks=["10.0.0.0/8", "2001:db8::/32"]
        )
    caller = make_client(tenant_a)  # no list of its own: the company's
    forged = {
        "REMOTE_ADDR": "192.0.2.7",
        "HTTP_X_FORWARDED_FOR": "10.1.2.3",
        "HTTP_FLY_CLIENT_IP": "2001:db8::5",
    }
    assert caller.exchange(**forged).status_code == 403
    with rls.tenant_context(tenant_a.pk):
        caller.token, _ = token_issue(client=ApiClient.objects.get(pk=caller.pk))
    response = caller.call("GET", "templates/", **forged)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "network_not_allowed"
