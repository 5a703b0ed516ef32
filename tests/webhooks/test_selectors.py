"""The reads the API builds on: another tenant's endpoint is as missing as a made-up id."""

import uuid

import pytest

from core import rls
from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from webhooks import selectors

pytestmark = pytest.mark.django_db


def test_another_tenants_endpoint_is_none_like_a_missing_one(tenant_a, tenant_b):
    mine = WebhookEndpointFactory(tenant=tenant_a)
    theirs = WebhookEndpointFactory(tenant=tenant_b)
    with rls.bypass_context():  # even past the database wall
        assert selectors.endpoint_of(tenant_a.pk, mine.pk) == mine
        assert selectors.endpoint_of(tenant_a.pk, theirs.pk) is None
        assert selectors.endpoint_of(tenant_a.pk, uuid.uuid4()) is None
        assert selectors.endpoints_of(tenant_a.pk) == [mine]


def test_deliveries_of_one_endpoint(tenant_a):
    endpoint = WebhookEndpointFactory(tenant=tenant_a)
    mine = WebhookDeliveryFactory(endpoint=endpoint)
    WebhookDeliveryFactory(endpoint__tenant=tenant_a)
    with rls.tenant_context(tenant_a.pk):
        assert selectors.deliveries_of(tenant_a.pk, endpoint_id=endpoint.pk) == [mine]
        assert len(selectors.deliveries_of(tenant_a.pk)) == 2
