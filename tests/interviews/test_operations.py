"""The operators' page (/admin/operations/): every tenant's interviews, minutes and failures,
for platform operators only, read in a few grouped queries however many tenants there are,
and recorded in each tenant's audit trail."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core import rls
from interviews.models import InterviewSession
from tenants.models import AuditEvent, Role
from tests.conftest import console_client
from tests.factories import (
    SessionFactory,
    SummaryFactory,
    TenantFactory,
    WebhookDeliveryFactory,
)

pytestmark = pytest.mark.django_db

URL = reverse("operations")


def timed_session(tenant, *, minutes, status="completed", days_ago=0):
    """A session that went live ``days_ago`` days ago and lasted ``minutes``."""
    started = timezone.now() - timedelta(days=days_ago, minutes=minutes)
    session = SessionFactory(
        tenant=tenant,
        status=status,
        started_at=started,
        ended_at=started + timedelta(minutes=minutes),
    )
    if days_ago:
        with rls.bypass_context():
            InterviewSession.objects.filter(pk=session.pk).update(
                created_at=timezone.now() - timedelta(days=days_ago)
            )
    return session


def line_of(response, tenant):
    [line] = [line for line in response.context["figures"] if line.tenant_id == tenant.pk]
    return line


def test_an_operator_sees_each_tenants_interviews_minutes_and_failures(
    operator_client, tenant_a, tenant_b
):
    timed_session(tenant_a, minutes=12)
    timed_session(tenant_a, minutes=30, days_ago=45)  # in the totals only
    SessionFactory(tenant=tenant_a, status="failed")
    SessionFactory(tenant=tenant_a, status="abandoned", end_reason="expired")
    failed = SessionFactory(tenant=tenant_a, status="completed")
    SummaryFactory(session=failed, status="failed")
    SummaryFactory(session=SessionFactory(tenant=tenant_a, status="completed"), status="ready")
    WebhookDeliveryFactory(endpoint__tenant=tenant_a, status="dead")
    WebhookDeliveryFactory(endpoint__tenant=tenant_a, status="failed")
    WebhookDeliveryFactory(endpoint__tenant=tenant_a, status="succeeded")
    timed_session(tenant_b, minutes=6, status="abandoned")

    response = operator_client.get(URL)

    assert response.status_code == 200
    acme = line_of(response, tenant_a)
    assert (acme.sessions_recent, acme.sessions_total) == (5, 6)
    assert (acme.minutes_recent, acme.minutes_total) == (12.0, 42.0)
    assert (acme.failed_recent, acme.abandoned_recent) == (1, 1)
    assert acme.summaries_failed_recent == 1
    assert acme.webhooks_failed_recent == 2
    globex = line_of(response, tenant_b)
    assert (globex.sessions_recent, globex.minutes_recent, globex.abandoned_recent) == (1, 6.0, 1)
    assert (globex.failed_recent, globex.summaries_failed_recent) == (0, 0)
    page = response.content.decode()
    assert 'data-tenant="acme"' in page and 'data-tenant="globex"' in page


def test_a_tenant_with_no_interviews_is_listed_with_zeros(operator_client, tenant_a):
    line = line_of(operator_client.get(URL), tenant_a)
    assert (line.sessions_total, line.minutes_total, line.webhooks_failed_recent) == (0, 0.0, 0)


def test_the_queries_do_not_grow_with_the_number_of_tenants(
    operator_client, django_assert_max_num_queries
):
    def with_tenants(count):
        for n in range(count):
            tenant = TenantFactory()
            timed_session(tenant, minutes=n + 1)
            SummaryFactory(session=SessionFactory(tenant=tenant), status="failed")
            WebhookDeliveryFactory(endpoint__tenant=tenant, status="dead")

    operator_client.get(URL)  # the session's first request records the bypass once
    with_tenants(2)
    with django_assert_max_num_queries(24) as few:
        assert operator_client.get(URL).status_code == 200
    with_tenants(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = operator_client.get(URL)
    assert len(response.context["figures"]) == 10


def test_viewing_the_page_is_recorded_in_each_tenants_audit_trail(
    operator_client, tenant_a, tenant_b
):
    operator_client.get(URL)
    with rls.bypass_context():
        events = list(AuditEvent.objects.filter(action="operator.viewed"))
    assert {event.tenant_id for event in events} == {tenant_a.pk, tenant_b.pk}
    assert all(event.details == {"page": "operations"} for event in events)
    assert all(event.actor_id == operator_client.user.pk for event in events)


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.RECRUITER, Role.VIEWER])
def test_members_of_a_tenant_get_no_such_page(tenant_a, role):
    client = console_client(tenant_a, role)
    assert client.get(URL).status_code == 404
    assert 'id="operations-module"' not in client.get(reverse("admin:index")).content.decode()


def test_someone_signed_out_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_operators_console_index_links_to_the_page(operator_client):
    page = operator_client.get(reverse("admin:index")).content.decode()
    assert 'id="operations-module"' in page and f'href="{URL}"' in page


def test_the_page_only_reads(operator_client):
    assert operator_client.post(URL).status_code == 405


def test_the_page_says_how_many_interviews_are_under_way_and_whether_maintenance_is_on(
    operator_client, tenant_a, tenant_b
):
    SessionFactory(tenant=tenant_a, status="live")
    SessionFactory(tenant=tenant_b, status="connecting")
    SessionFactory(tenant=tenant_b, status="completed")

    def page():
        return " ".join(operator_client.get("/admin/operations/").content.decode().split())

    assert "Interviews in progress now: 2." in page() and "Maintenance mode is off." in page()
    call_command("maintenance", "on", "--message", "Back at two.", stdout=io.StringIO())
    assert "Maintenance mode is <strong>on</strong>" in page() and "Back at two." in page()
