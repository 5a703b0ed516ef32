"""API clients in the console: owners and admins create them (the secret is shown once, on the
page after the form, and never stored), change them and revoke them; recruiters and viewers
see them; another tenant's are 404."""

import hashlib

import pytest
from django.urls import reverse

from core import rls
from tenant_api.models import ApiClient
from tenants.models import AuditEvent, Role
from tests.conftest import console_client
from tests.tenant_api.support import make_client

pytestmark = pytest.mark.django_db

ADD = reverse("admin:tenant_api_apiclient_add")
LIST = reverse("admin:tenant_api_apiclient_changelist")


def clients(tenant):
    with rls.tenant_context(tenant.pk):
        return list(ApiClient.objects.all())


def test_an_owner_creates_a_client_and_sees_its_secret_once(tenant_a):
    owner = console_client(tenant_a, Role.OWNER)
    form = {"name": "Greenhouse", "scopes": ["candidates:write", "sessions:read"]}
    response = owner.post(ADD, {**form, "allowed_networks": "203.0.113.0/24\n"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    [client] = clients(tenant_a)
    secret = html.split("Client secret</dt><dd><code>", 1)[1].split("<", 1)[0]
    assert secret.startswith("sk_") and client.client_id in html
    assert client.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert client.scopes == ["candidates:write", "sessions:read"]
    assert client.allowed_networks == ["203.0.113.0/24"]
    assert (
        secret
        not in owner.get(
            reverse("admin:tenant_api_apiclient_change", args=[client.pk])
        ).content.decode()
    )
    with rls.tenant_context(tenant_a.pk):
        event = AuditEvent.objects.get(action="api_client.created")
    assert event.actor_id == owner.user.pk and secret not in str(event.details)


def test_a_bad_network_or_no_scope_is_refused_on_the_form(tenant_a):
    owner = console_client(tenant_a, Role.ADMIN)
    response = owner.post(
        ADD, {"name": "x", "scopes": ["templates:read"], "allowed_networks": "nope"}
    )
    assert response.status_code == 200 and "is not a CIDR range" in response.content.decode()
    response = owner.post(ADD, {"name": "x", "allowed_networks": ""})
    assert "This field is required" in response.content.decode()
    assert clients(tenant_a) == []


@pytest.mark.parametrize("role", [Role.RECRUITER, Role.VIEWER])
def test_others_see_clients_but_cannot_create_or_revoke_them(tenant_a, role):
    caller = make_client(tenant_a)
    member = console_client(tenant_a, role)
    assert caller.client_id in member.get(LIST).content.decode()
    assert member.get(ADD).status_code == 403
    [client] = clients(tenant_a)
    member.post(LIST, {"action": "revoke", "_selected_action": [client.pk]})
    assert clients(tenant_a)[0].revoked_at is None


def test_revoking_stops_the_clients_tokens(tenant_a):
    caller = make_client(tenant_a)
    caller.authorize()
    owner = console_client(tenant_a, Role.OWNER)
    [client] = clients(tenant_a)
    owner.post(LIST, {"action": "revoke", "_selected_action": [client.pk]})
    assert clients(tenant_a)[0].revoked_at is not None
    assert caller.call("GET", "templates/").status_code == 401
    with rls.tenant_context(tenant_a.pk):
        assert AuditEvent.objects.filter(action="api_client.revoked").count() == 1


def test_another_tenants_client_is_a_404(tenant_a, tenant_b):
    make_client(tenant_b)
    [theirs] = clients(tenant_b)
    owner = console_client(tenant_a, Role.OWNER)
    page = reverse("admin:tenant_api_apiclient_change", args=[theirs.pk])
    assert owner.get(page).status_code == 404
    assert theirs.client_id not in owner.get(LIST).content.decode()
