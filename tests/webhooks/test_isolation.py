"""The database wall holds for webhooks too: in one tenant's context, even an unscoped query
sees only that tenant's endpoints and deliveries, and cannot write another's."""

import pytest
from django.db import IntegrityError, ProgrammingError, transaction

from core import rls
from tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_emit

pytestmark = pytest.mark.django_db


def test_an_unscoped_query_sees_only_the_tenants_own_rows(tenant_a, tenant_b):
    mine = WebhookDeliveryFactory(endpoint__tenant=tenant_a)
    WebhookDeliveryFactory(endpoint__tenant=tenant_b)
    with rls.tenant_context(tenant_a.pk):
        assert list(WebhookEndpoint.objects.values_list("pk", flat=True)) == [mine.endpoint_id]
        assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [mine.pk]
    assert not WebhookEndpoint.objects.exists()  # no context, no rows


def test_another_tenants_endpoint_cannot_be_written(tenant_a, tenant_b):
    theirs = WebhookEndpointFactory(tenant=tenant_b)
    with rls.tenant_context(tenant_a.pk):
        assert WebhookEndpoint.objects.filter(pk=theirs.pk).update(url="http://x/") == 0
        with pytest.raises((ProgrammingError, IntegrityError)), transaction.atomic():
            WebhookEndpoint.objects.create(tenant=tenant_b, url="http://x/", secret="whsec_x")


def test_emitting_in_one_tenants_context_never_reaches_another_tenants_endpoints(
    tenant_a, tenant_b
):
    WebhookEndpointFactory(tenant=tenant_b, events=["decision.recorded"])
    with rls.tenant_context(tenant_a.pk):
        # Even asked for the other tenant, the wall shows it no endpoint to write to.
        assert webhook_emit(tenant_id=tenant_b.pk, event_type="decision.recorded", data={}) == []
    with rls.bypass_context():
        assert not WebhookDelivery.objects.exists()
