"""Network allowlists in the console: a tenant's list for its members, OPERATOR_ALLOWED_NETWORKS
for platform operators; the client's address from CLIENT_IP_HEADER when it is set and from the
connection otherwise (a header the setting does not name is ignored); and an owner cannot lock
themselves out by saving a list without their own address, unless they say they mean it."""

import pytest
from django.test import Client
from django.urls import reverse

from core import rls
from tenants import services
from tenants.models import AuditEvent, Role
from tests.conftest import console_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
ADDRESSES = [
    ("10.1.2.3", True),
    ("192.0.2.7", False),
    ("2001:db8::5", True),
    ("2001:db9::1", False),
    ("::ffff:10.1.2.3", True),  # an IPv4 client seen through a dual-stack socket
    ("::ffff:192.0.2.7", False),
]


def set_networks(tenant, networks):
    with rls.bypass_context():
        type(tenant).objects.filter(pk=tenant.pk).update(allowed_admin_networks=networks)
    tenant.allowed_admin_networks = networks


def console_status(client, **extra) -> int:
    return client.get(reverse("admin:index"), **extra).status_code


# --- Members: the tenant's list ----------------------------------------------------------


@pytest.mark.parametrize("address, allowed", ADDRESSES)
def test_a_member_uses_the_console_only_from_the_tenants_networks(
    tenant_a, settings, address, allowed
):
    settings.CLIENT_IP_HEADER = ""
    set_networks(tenant_a, NETWORKS)
    client = console_client(tenant_a, Role.RECRUITER)
    assert console_status(client, REMOTE_ADDR=address) == (200 if allowed else 403)


@pytest.mark.parametrize("address, allowed", ADDRESSES)
def test_behind_a_proxy_the_address_comes_from_client_ip_header(
    tenant_a, settings, address, allowed
):
    settings.CLIENT_IP_HEADER = "Fly-Client-IP"
    set_networks(tenant_a, NETWORKS)
    client = console_client(tenant_a, Role.RECRUITER)
    # The proxy's own address is allowed: only the header decides.
    status = console_status(client, REMOTE_ADDR="10.9.9.9", HTTP_FLY_CLIENT_IP=address)
    assert status == (200 if allowed else 403)


def test_without_client_ip_header_a_forged_header_is_ignored(tenant_a, settings):
    settings.CLIENT_IP_HEADER = ""
    set_networks(tenant_a, NETWORKS)
    client = console_client(tenant_a, Role.RECRUITER)
    forged = {"HTTP_X_FORWARDED_FOR": "10.1.2.3", "HTTP_FLY_CLIENT_IP": "2001:db8::5"}
    assert console_status(client, REMOTE_ADDR="192.0.2.7", **forged) == 403


def test_an_empty_list_allows_any_network(tenant_a):
    client = console_client(tenant_a, Role.VIEWER)
    assert console_status(client, REMOTE_ADDR="198.51.100.1") == 200
    assert console_status(client, REMOTE_ADDR="2001:db9::1") == 200


# --- Operators: OPERATOR_ALLOWED_NETWORKS --------------------------------------------------


def operator() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("address, allowed", ADDRESSES)
def test_an_operator_uses_the_console_only_from_operator_allowed_networks(
    settings, address, allowed
):
    settings.CLIENT_IP_HEADER = ""
    settings.OPERATOR_ALLOWED_NETWORKS = NETWORKS
    assert console_status(operator(), REMOTE_ADDR=address) == (200 if allowed else 403)


def test_operators_behind_a_proxy_are_judged_by_the_header_alone(settings):
    settings.OPERATOR_ALLOWED_NETWORKS = NETWORKS
    settings.CLIENT_IP_HEADER = "Fly-Client-IP"
    client = operator()
    assert console_status(client, REMOTE_ADDR="192.0.2.7", HTTP_FLY_CLIENT_IP="10.1.2.3") == 200
    assert console_status(client, REMOTE_ADDR="10.1.2.3", HTTP_FLY_CLIENT_IP="192.0.2.7") == 403
    settings.CLIENT_IP_HEADER = ""
    forged = operator()
    assert console_status(forged, REMOTE_ADDR="192.0.2.7", HTTP_FLY_CLIENT_IP="10.1.2.3") == 403


def test_operators_are_not_held_to_a_tenants_list(tenant_a, settings):
    set_networks(tenant_a, ["10.0.0.0/8"])
    settings.OPERATOR_ALLOWED_NETWORKS = []
    response = operator().get(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]), REMOTE_ADDR="192.0.2.7"
    )
    assert response.status_code == 200


# --- Not locking oneself out ----------------------------------------------------------------


def settings_form(tenant, networks: str, **extra) -> dict:
    return {
        "name": tenant.name,
        "retention_days": tenant.retention_days,
        "invitation_expiry_days": tenant.invitation_expiry_days,
        "allowed_admin_networks": networks,
        "branding": "{}",
        "video_enabled": "on",
        "default_model": "gpt-realtime",
        "default_voice": "marin",
        "default_language": "en",
        **extra,
    }


def saved_networks(tenant):
    with rls.bypass_context():
        return type(tenant).objects.get(pk=tenant.pk).allowed_admin_networks


@pytest.mark.parametrize("address", ["192.0.2.7", "2001:db9::1"])
def test_saving_a_list_without_ones_own_address_asks_for_a_confirmation(tenant_a, address):
    owner = console_client(tenant_a, Role.OWNER)
    url = reverse("admin:tenants_tenant_change", args=[tenant_a.pk])

    refused = owner.post(url, settings_form(tenant_a, '["10.0.0.0/8"]'), REMOTE_ADDR=address)

    assert refused.status_code == 200
    page = refused.content.decode()
    assert f"This list does not include your address {address}" in page
    assert services.LOCKOUT_CONFIRMATION in page  # the checkbox to tick
    assert saved_networks(tenant_a) == []

    confirmed = owner.post(
        url,
        settings_form(tenant_a, '["10.0.0.0/8"]', confirm_network_lockout="on"),
        REMOTE_ADDR=address,
    )
    assert confirmed.status_code == 302
    assert saved_networks(tenant_a) == ["10.0.0.0/8"]
    # As promised: the console is closed to them from there now.
    assert console_status(owner, REMOTE_ADDR=address) == 403


@pytest.mark.parametrize("address", ["10.20.30.40", "2001:db8::77"])
def test_a_list_with_ones_own_address_saves_without_a_confirmation(tenant_a, address):
    owner = console_client(tenant_a, Role.OWNER)
    response = owner.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        settings_form(tenant_a, '["10.0.0.0/8", "2001:db8::/32"]'),
        REMOTE_ADDR=address,
    )
    assert response.status_code == 302
    assert saved_networks(tenant_a) == ["10.0.0.0/8", "2001:db8::/32"]


def test_behind_a_proxy_ones_own_address_is_the_headers(tenant_a, settings):
    settings.CLIENT_IP_HEADER = "Fly-Client-IP"
    owner = console_client(tenant_a, Role.OWNER)
    url = reverse("admin:tenants_tenant_change", args=[tenant_a.pk])
    form = settings_form(tenant_a, '["10.0.0.0/8"]')
    # The proxy is in the list, the owner is not: refused.
    refused = owner.post(url, form, REMOTE_ADDR="10.0.0.1", HTTP_FLY_CLIENT_IP="192.0.2.7")
    assert refused.status_code == 200 and saved_networks(tenant_a) == []
    saved = owner.post(url, form, REMOTE_ADDR="192.0.2.7", HTTP_FLY_CLIENT_IP="10.3.3.3")
    assert saved.status_code == 302 and saved_networks(tenant_a) == ["10.0.0.0/8"]


def test_the_service_refuses_the_lockout_whoever_calls_it(tenant_a):
    from django.core.exceptions import ValidationError

    from core import requestcontext

    actor = UserFactory(is_staff=True)
    token = requestcontext.client_ip.set("192.0.2.7")
    try:
        with rls.tenant_context(tenant_a.pk):
            with pytest.raises(ValidationError) as refused:
                services.tenant_update_settings(
                    tenant=tenant_a, actor=actor, changes={"allowed_admin_networks": ["10.0.0.0/8"]}
                )
            assert refused.value.error_dict["allowed_admin_networks"][0].code == (
                "excludes_own_address"
            )
            # An operator (held to OPERATOR_ALLOWED_NETWORKS, not this list) is not asked.
            services.tenant_update_settings(
                tenant=tenant_a,
                actor=actor,
                changes={"allowed_admin_networks": ["10.0.0.0/8"]},
                operator=True,
            )
    finally:
        requestcontext.client_ip.reset(token)
    assert saved_networks(tenant_a) == ["10.0.0.0/8"]


def test_an_allowlist_change_is_its_own_audit_event_with_before_and_after(tenant_a):
    set_networks(tenant_a, ["192.0.2.0/24"])
    owner = console_client(tenant_a, Role.OWNER)
    response = owner.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        settings_form(tenant_a, '["192.0.2.0/24", "10.0.0.0/8"]'),
        REMOTE_ADDR="192.0.2.9",
        HTTP_X_REQUEST_ID="req-allowlist-1",
    )
    assert response.status_code == 302
    with rls.tenant_context(tenant_a.pk):
        event = AuditEvent.objects.get(action="tenant.allowlist_changed")
        assert AuditEvent.objects.filter(action="tenant.settings_changed").exists()
    assert event.details == {
        "before": ["192.0.2.0/24"],
        "after": ["192.0.2.0/24", "10.0.0.0/8"],
        "own_address_excluded": False,
    }
    assert event.actor_id == owner.user.pk
    assert (event.ip, event.request_id) == ("192.0.2.9", "req-allowlist-1")
