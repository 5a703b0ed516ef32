"""Operator credentials: the command, the token exchange, and that neither the operator's nor
a tenant's token works on the other API; the network allowlist on every call."""

import pytest
from django.core.management import CommandError, call_command

from core import rls
from provisioning.models import OperatorClient
from provisioning.services import operator_client_revoke
from tenants.models import AuditEvent
from tests.provisioning.support import Operator, operator_token_request
from tests.tenant_api.support import make_client

pytestmark = pytest.mark.django_db


def test_the_command_creates_lists_and_revokes_clients_showing_the_secret_once(capsys):
    call_command("operator_client", "create", "--name", "Provisioning bot")
    out = capsys.readouterr().out
    client_id = out.split("client_id:")[1].split()[0]
    secret = out.split("client_secret:")[1].split()[0]
    operator = Operator(client_id, secret)
    assert operator.exchange().status_code == 200
    with rls.bypass_context():
        stored = OperatorClient.objects.get(client_id=client_id)
    assert secret not in stored.secret_hash and len(stored.secret_hash) == 64

    call_command("operator_client", "list")
    listed = capsys.readouterr().out
    assert client_id in listed and "active" in listed

    call_command("operator_client", "revoke", client_id)
    assert operator.exchange().status_code == 401
    with pytest.raises(CommandError):
        call_command("operator_client", "revoke", client_id)


def test_the_clients_table_is_behind_the_wall():
    call_command("operator_client", "create", "--name", "Ops")
    assert OperatorClient.objects.count() == 0  # no bypass: nothing visible
    with rls.bypass_context():
        assert OperatorClient.objects.count() == 1


def test_a_token_works_and_its_exchange_is_audited_at_platform_level(operator_api):
    response = operator_api.exchange()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert response.json()["token_type"] == "Bearer"
    operator_api.token = response.json()["access_token"]
    assert operator_api.call("GET", "tenants/").status_code == 200
    with rls.bypass_context():
        actions = set(
            AuditEvent.objects.filter(
                tenant=None, actor_label__startswith="operator-api:"
            ).values_list("action", flat=True)
        )
    assert {"operator_api.token_issued", "operator_api.request"} <= actions


@pytest.mark.parametrize(
    "form,status,error",
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "invalid_request"),
        (
            {"grant_type": "client_credentials", "client_id": "op_x", "client_secret": "x"},
            401,
            "invalid_client",
        ),
    ],
)
def test_bad_token_requests_get_oauth_errors(form, status, error):
    response = operator_token_request(form)
    assert response.status_code == status and response.json()["error"] == error


def test_a_wrong_secret_is_refused(operator_api):
    operator_api.secret = "osk_wrong"
    assert operator_api.exchange().status_code == 401


def test_a_tenants_token_is_refused_by_the_operator_api(tenant_a):
    tenant_caller = make_client(tenant_a).authorize()
    response = Operator("", "", token=tenant_caller.token).call("GET", "tenants/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_a_tenants_credentials_are_refused_by_the_operator_token_endpoint(tenant_a):
    tenant_caller = make_client(tenant_a)
    assert Operator(tenant_caller.client_id, tenant_caller.secret).exchange().status_code == 401


def test_an_operator_token_is_refused_by_the_tenant_api(operator_api, tenant_a):
    operator_api.authorize()
    caller = make_client(tenant_a)
    caller.token = operator_api.token
    response = caller.call("GET", "candidates/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


def test_operator_credentials_are_refused_by_the_tenant_token_endpoint(operator_api):
    from tests.tenant_api.support import token_request

    response = token_request(
        {
            "grant_type": "client_credentials",
            "client_id": operator_api.client_id,
            "client_secret": operator_api.secret,
        }
    )
    assert response.status_code == 401


def test_a_revoked_clients_tokens_stop_at_once(operator_api):
    operator_api.authorize()
    operator_client_revoke(client_id=operator_api.client_id)
    response = operator_api.call("GET", "tenants/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "client_revoked"


@pytest.mark.parametrize(
    "networks,required,address,allowed",
    [
        ([], False, "203.0.113.9", True),  # unset outside production: open
        ([], True, "203.0.113.9", False),  # unset in production: closed
        (["10.0.0.0/8"], True, "10.1.2.3", True),
        (["10.0.0.0/8"], False, "192.0.2.1", False),
        (["2001:db8::/32"], True, "2001:db8::1", True),
        (["2001:db8::/32"], True, "2001:db9::1", False),
        (["10.0.0.0/8", "2001:db8::/32"], True, "2001:db8:1::5", True),
    ],
)
def test_every_call_token_exchange_included_comes_from_an_allowed_network(
    operator_api, settings, networks, required, address, allowed
):
    operator_api.authorize()  # from 127.0.0.1, before the list applies
    settings.OPERATOR_API_ALLOWED_NETWORKS = networks
    settings.OPERATOR_API_NETWORKS_REQUIRED = required
    exchange = operator_api.exchange(REMOTE_ADDR=address)
    call = operator_api.call("GET", "tenants/", REMOTE_ADDR=address)
    if allowed:
        assert exchange.status_code == 200 and call.status_code == 200
    else:
        assert exchange.status_code == 403 and call.status_code == 403
        assert exchange.json()["error"]["code"] == "network_not_allowed"
        assert call.json()["error"]["code"] == "network_not_allowed"


@pytest.mark.parametrize(
    "address, allowed",
    [("10.1.2.3", True), ("192.0.2.7", False), ("2001:db8::5", True), ("2001:db9::1", False)],
)
def test_without_a_list_of_its_own_the_operator_api_takes_the_operators_list(
    operator_api, settings, address, allowed
):
    operator_api.authorize()
    settings.OPERATOR_API_ALLOWED_NETWORKS = []
    settings.OPERATOR_ALLOWED_NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
    settings.OPERATOR_API_NETWORKS_REQUIRED = True
    call = operator_api.call("GET", "tenants/", REMOTE_ADDR=address)
    assert call.status_code == (200 if allowed else 403)
    assert operator_api.exchange(REMOTE_ADDR=address).status_code == (200 if allowed else 403)


def test_the_operator_apis_own_list_wins_over_the_operators_list(operator_api, settings):
    operator_api.authorize()
    settings.OPERATOR_API_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    settings.OPERATOR_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert operator_api.call("GET", "tenants/", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert operator_api.call("GET", "tenants/", REMOTE_ADDR="10.1.2.3").status_code == 403


def test_behind_a_proxy_the_operator_apis_caller_is_the_headers_and_no_forgery_counts(
    operator_api, settings
):
    operator_api.authorize()
    settings.OPERATOR_API_ALLOWED_NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
    settings.CLIENT_IP_HEADER = "Fly-Client-IP"
    ok = operator_api.call(
        "GET", "tenants/", REMOTE_ADDR="192.0.2.7", HTTP_FLY_CLIENT_IP="2001:db8::9"
    )
    refused = operator_api.call(
        "GET", "tenants/", REMOTE_ADDR="10.0.0.1", HTTP_FLY_CLIENT_IP="2001:db9::9"
    )
    assert (ok.status_code, refused.status_code) == (200, 403)
    settings.CLIENT_IP_HEADER = ""
    forged = operator_api.call(
        "GET", "tenants/", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.1.2.3"
    )
    assert forged.status_code == 403
