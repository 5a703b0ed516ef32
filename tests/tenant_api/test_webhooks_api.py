"""Webhook endpoints through the tenant API: registered with a secret shown once, changed,
tested, their deliveries read, removed; refused for private addresses where the platform
refuses them; another tenant's are 404s."""

import pytest
from django.core.cache import cache

from core import rls
from tests.factories import WebhookEndpointFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

HOOK = {"url": "https://ats.example.com/hooks", "events": ["session.completed"]}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def test_register_read_change_test_and_remove(acme_api, tenant_a, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the test event goes nowhere real
    created = acme_api.call("POST", "webhooks/", HOOK)
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["is_enabled"] is True
    read = acme_api.call("GET", f"webhooks/{body['id']}/").json()
    assert "secret" not in read and read["events"] == ["session.completed"]
    changed = acme_api.call(
        "PATCH", f"webhooks/{body['id']}/", {"events": ["summary.ready", "decision.recorded"]}
    )
    assert changed.json()["events"] == ["summary.ready", "decision.recorded"]
    tested = acme_api.call("POST", f"webhooks/{body['id']}/test/")
    assert tested.status_code == 202 and tested.json()["event_type"] == "webhook.test"
    deliveries = acme_api.call("GET", f"webhooks/{body['id']}/deliveries/").json()
    assert [d["message_id"] for d in deliveries] == [tested.json()["message_id"]]
    assert acme_api.call("DELETE", f"webhooks/{body['id']}/").status_code == 204
    with rls.tenant_context(tenant_a.pk):
        assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {**HOOK, "events": ["session.exploded"]},
        {**HOOK, "events": []},
        {**HOOK, "url": "ftp://ats.example.com/"},
        {**HOOK, "url": "http://ats.example.com/hooks"},  # production: https only
        {**HOOK, "url": "http://169.254.169.254/latest/meta-data/"},
        {**HOOK, "url": "http://10.0.0.5/hooks"},
    ],
)
def test_bad_endpoints_are_refused(acme_api, tenant_a, settings, body):
    settings.WEBHOOKS_ALLOW_PRIVATE = False  # as in production
    response = acme_api.call("POST", "webhooks/", body)
    assert response.status_code == 400, response.content
    with rls.tenant_context(tenant_a.pk):
        assert not WebhookEndpoint.objects.exists()


def test_another_tenants_endpoint_is_a_404(acme_api, tenant_b):
    theirs = WebhookEndpointFactory(tenant=tenant_b)
    for method, path, body in (
        ("GET", f"webhooks/{theirs.pk}/", None),
        ("PATCH", f"webhooks/{theirs.pk}/", {"description": "x"}),
        ("DELETE", f"webhooks/{theirs.pk}/", None),
        ("POST", f"webhooks/{theirs.pk}/test/", None),
        ("GET", f"webhooks/{theirs.pk}/deliveries/", None),
    ):
        assert acme_api.call(method, path, body).status_code == 404, (method, path)
    assert acme_api.call("GET", "webhooks/").json() == []
    with rls.bypass_context():
        assert WebhookEndpoint.objects.get(pk=theirs.pk).description == ""


def test_a_replayed_registration_does_not_hold_the_secret(acme_api, tenant_a):
    from tenant_api.models import IdempotencyRecord

    first = acme_api.call("POST", "webhooks/", HOOK, HTTP_IDEMPOTENCY_KEY="hook-1")
    assert first.json()["secret"].startswith("whsec_")
    again = acme_api.call("POST", "webhooks/", HOOK, HTTP_IDEMPOTENCY_KEY="hook-1")
    assert again.json()["secret"] is None and again.json()["id"] == first.json()["id"]
    with rls.tenant_context(tenant_a.pk):
        assert "whsec_" not in str(IdempotencyRecord.objects.get().body)
