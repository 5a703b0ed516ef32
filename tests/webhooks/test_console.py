"""The console's webhook pages: owners and admins register endpoints (the secret shown once),
test them, disable them and send deliveries again; every member reads the delivery log; no
one reaches another tenant's endpoints or deliveries."""

import pytest
from django.urls import reverse

from core import rls
from tenants.models import AuditEvent, Role
from tests.conftest import console_client
from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from tests.support.console import field_errors
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

ADD = reverse("admin:webhooks_webhookendpoint_add")
ENDPOINTS = reverse("admin:webhooks_webhookendpoint_changelist")
DELIVERIES = reverse("admin:webhooks_webhookdelivery_changelist")


def change_url(obj):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def form(url="https://hooks.example.com/in", events=("decision.recorded",), **extra):
    return {"url": url, "description": "ATS", "events": list(events), **extra}


@pytest.fixture
def owner(tenant_a):
    return console_client(tenant_a, Role.OWNER)


def stored_endpoints(tenant):
    with rls.bypass_context():
        return list(WebhookEndpoint.objects.filter(tenant=tenant))


def test_an_owner_registers_an_endpoint_and_sees_its_secret_once(owner, tenant_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # hooks.example.com is not resolved here
    response = owner.post(ADD, form(include_transcript="on"))
    assert response.status_code == 200
    [endpoint] = stored_endpoints(tenant_a)
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert endpoint.include_transcript
    assert endpoint.events == ["decision.recorded"]
    # Never again: not on its page, not in the list.
    assert endpoint.secret not in owner.get(change_url(endpoint)).content.decode()
    assert endpoint.secret not in owner.get(ENDPOINTS).content.decode()
    with rls.bypass_context():
        event = AuditEvent.objects.get(action="webhook.endpoint_created")
    assert endpoint.secret not in str(event.details)


def test_a_private_address_is_refused_at_registration(owner, tenant_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = owner.post(ADD, form(url="http://169.254.169.254/latest/meta-data/"))
    assert response.status_code == 200
    assert any("metadata" in e for e in field_errors(response.content.decode(), "url"))
    assert stored_endpoints(tenant_a) == []


def test_an_owner_changes_an_endpoint_and_the_trail_says_which_fields(owner, tenant_a):
    endpoint = WebhookEndpointFactory(tenant=tenant_a, url="http://127.0.0.1:9/a")
    response = owner.post(
        change_url(endpoint), form(url="http://127.0.0.1:9/b", events=["summary.ready"])
    )
    assert response.status_code == 302
    [stored] = stored_endpoints(tenant_a)
    assert (stored.url, stored.events, stored.secret) == (
        "http://127.0.0.1:9/b",
        ["summary.ready"],
        endpoint.secret,
    )
    with rls.bypass_context():
        event = AuditEvent.objects.get(action="webhook.endpoint_changed")
    assert set(event.details["fields"]) == {"url", "events", "description"}


@pytest.mark.parametrize("role", [Role.RECRUITER, Role.VIEWER])
def test_other_roles_read_but_do_not_manage(role, tenant_a):
    client = console_client(tenant_a, role)
    endpoint = WebhookEndpointFactory(tenant=tenant_a)
    WebhookDeliveryFactory(endpoint=endpoint)
    assert client.get(ENDPOINTS).status_code == 200
    assert client.get(DELIVERIES).status_code == 200
    assert client.post(ADD, form()).status_code == 403
    assert client.post(change_url(endpoint), form(url="http://127.0.0.1:9/x")).status_code == 403
    assert stored_endpoints(tenant_a)[0].url == endpoint.url
    request = client.get(DELIVERIES).wsgi_request
    assert "send_again" not in admin_actions(WebhookDelivery, request)


def admin_actions(model, request):
    from django.contrib import admin

    return admin.site._registry[model].get_actions(request)


def test_send_a_test_event_reaches_the_receiver(
    owner, tenant_a, webhook_receiver, django_capture_on_commit_callbacks
):
    endpoint = WebhookEndpointFactory(tenant=tenant_a, url=webhook_receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(ENDPOINTS, {"action": "send_test_event", "_selected_action": [endpoint.pk]})
    [received] = webhook_receiver.requests
    assert b'"type":"webhook.test"' in received.body


def test_disable_and_enable_from_the_console(owner, tenant_a):
    endpoint = WebhookEndpointFactory(tenant=tenant_a)
    owner.post(ENDPOINTS, {"action": "disable_endpoints", "_selected_action": [endpoint.pk]})
    assert not stored_endpoints(tenant_a)[0].is_enabled
    owner.post(ENDPOINTS, {"action": "enable_endpoints", "_selected_action": [endpoint.pk]})
    assert stored_endpoints(tenant_a)[0].is_enabled


def test_the_delivery_log_shows_status_attempts_and_code_and_sends_again(
    owner, tenant_a, webhook_receiver, django_capture_on_commit_callbacks
):
    delivery = WebhookDeliveryFactory(
        endpoint__tenant=tenant_a,
        endpoint__url=webhook_receiver.url,
        status="dead",
        attempts=8,
        last_response_code=503,
        next_attempt_at=None,
    )
    other = WebhookDeliveryFactory(endpoint__tenant=tenant_a)
    body = owner.get(DELIVERIES).content.decode()
    assert "Gave up" in body and "503" in body
    # The endpoint page's "Delivery log" link lists that endpoint's deliveries only.
    page = owner.get(change_url(delivery.endpoint)).content.decode()
    link = f"{DELIVERIES}?endpoint__id__exact={delivery.endpoint_id}"
    assert link in page
    log = owner.get(link).content.decode()
    assert change_url(delivery) in log and change_url(other) not in log
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(DELIVERIES, {"action": "send_again", "_selected_action": [delivery.pk]})
    with rls.bypass_context():
        stored = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (stored.status, stored.attempts, stored.last_response_code) == ("succeeded", 9, 204)


def test_another_tenants_endpoints_and_deliveries_are_out_of_reach(
    owner, tenant_b, webhook_receiver, django_capture_on_commit_callbacks
):
    theirs = WebhookEndpointFactory(tenant=tenant_b, url=webhook_receiver.url)
    delivery = WebhookDeliveryFactory(endpoint=theirs, status="dead", next_attempt_at=None)
    assert owner.get(change_url(theirs)).status_code == 404
    assert owner.get(change_url(delivery)).status_code == 404
    body = owner.get(DELIVERIES).content.decode()
    assert delivery.message_id not in body
    with django_capture_on_commit_callbacks(execute=True):
        owner.post(ENDPOINTS, {"action": "send_test_event", "_selected_action": [theirs.pk]})
        owner.post(DELIVERIES, {"action": "send_again", "_selected_action": [delivery.pk]})
    assert webhook_receiver.requests == []
