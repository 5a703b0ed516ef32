"""Console list pages cost the same number of queries for 5 rows as for 200."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.models import Role
from tests.conftest import console_client
from tests.factories import (
    AccommodationRequestFactory,
    AuditEventFactory,
    CandidateFactory,
    InvitationFactory,
    MembershipFactory,
    QuestionFactory,
    SessionFactory,
    SummaryFactory,
    TemplateFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

pytestmark = pytest.mark.django_db


def _sessions(tenant, n):
    candidate, template = CandidateFactory(tenant=tenant), TemplateFactory(tenant=tenant)
    for _ in range(n):
        session = SessionFactory(tenant=tenant, candidate=candidate, template=template)
        SummaryFactory(session=session, tenant=tenant)


def _templates(tenant, n):
    for template in TemplateFactory.create_batch(n, tenant=tenant):
        QuestionFactory(template=template, tenant=tenant)


def _invitations(tenant, n):
    candidate, template = CandidateFactory(tenant=tenant), TemplateFactory(tenant=tenant)
    InvitationFactory.create_batch(n, tenant=tenant, candidate=candidate, template=template)


FILLERS = {
    "interviews_candidate": lambda t, n: CandidateFactory.create_batch(n, tenant=t),
    "interviews_interviewtemplate": _templates,
    "interviews_interviewsession": _sessions,
    "invitations_interviewinvitation": _invitations,
    "tenants_membership": lambda t, n: MembershipFactory.create_batch(n, tenant=t),
    "tenants_auditevent": lambda t, n: AuditEventFactory.create_batch(n, tenant=t),
    "invitations_accommodationrequest": lambda t, n: _accommodation_requests(t, n),
    "webhooks_webhookendpoint": lambda t, n: WebhookEndpointFactory.create_batch(n, tenant=t),
    "webhooks_webhookdelivery": lambda t, n: _webhook_deliveries(t, n),
}


def _webhook_deliveries(tenant, n):
    endpoint = WebhookEndpointFactory(tenant=tenant)
    WebhookDeliveryFactory.create_batch(n, endpoint=endpoint)


def _accommodation_requests(tenant, n):
    invitation = InvitationFactory(tenant=tenant)
    AccommodationRequestFactory.create_batch(n, invitation=invitation)


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"all": ""})  # "show all": every row on one page
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("changelist", list(FILLERS))
def test_changelist_queries_do_not_grow_with_rows(changelist, tenant_a, tenant_b):
    client = console_client(tenant_a, Role.OWNER)
    url = reverse(f"admin:{changelist}_changelist")
    FILLERS[changelist](tenant_a, 5)
    FILLERS[changelist](tenant_b, 5)  # other tenants' rows must not matter either
    with_5 = count_queries(client, url)
    FILLERS[changelist](tenant_a, 195)
    with_200 = count_queries(client, url)
    assert with_200 <= with_5, f"{with_5} queries for 5 rows, {with_200} for 200"


def test_the_operators_tenant_list_does_not_grow_with_tenants(operator_client):
    from tests.factories import TenantFactory

    url = reverse("admin:tenants_tenant_changelist")
    TenantFactory.create_batch(5)
    with_5 = count_queries(operator_client, url)
    TenantFactory.create_batch(195)
    assert count_queries(operator_client, url) <= with_5
