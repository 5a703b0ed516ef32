"""An operator's reads of a tenant's data are in that tenant's own audit trail: each object
page opened, and each list page showing its rows."""

import pytest
from django.urls import reverse

from core import rls
from tenants.models import AuditEvent, Role
from tests.conftest import console_client
from tests.factories import CandidateFactory

pytestmark = pytest.mark.django_db

AUDIT_LIST = reverse("admin:tenants_auditevent_changelist")


def events(action):
    with rls.bypass_context():
        return list(AuditEvent.objects.filter(action=action))


@pytest.mark.parametrize("page", ["change", "history", "delete"])
def test_opening_an_objects_page_is_recorded_in_its_tenant(operator_client, tenant_a, page):
    candidate = CandidateFactory(tenant=tenant_a)
    url = reverse(f"admin:interviews_candidate_{page}", args=[candidate.pk])

    assert operator_client.get(url).status_code == 200

    [event] = events("operator.viewed")
    assert event.tenant_id == tenant_a.pk
    assert event.actor_id == operator_client.user.pk
    assert (event.target_type, event.target_id) == ("interviews.candidate", str(candidate.pk))
    assert event.details == {"page": page}
    assert event.request_id


def test_the_tenant_sees_the_operators_read_and_the_other_tenant_does_not(
    operator_client, tenant_a, tenant_b
):
    candidate = CandidateFactory(tenant=tenant_a, full_name="Ada Lovelace")
    operator_client.get(reverse("admin:interviews_candidate_change", args=[candidate.pk]))
    owner_a = console_client(tenant_a, Role.OWNER)
    owner_b = console_client(tenant_b, Role.OWNER)

    page_a = owner_a.get(AUDIT_LIST, {"action": "operator.viewed"}).content.decode()
    page_b = owner_b.get(AUDIT_LIST, {"action": "operator.viewed"}).content.decode()

    label = candidate.audit_label  # the trail names no candidate (see AuditEvent)
    assert label in page_a and operator_client.user.username in page_a
    assert label not in page_b and operator_client.user.username not in page_b
    assert "Ada Lovelace" not in page_a


def test_a_list_page_is_recorded_once_per_tenant_shown(operator_client, tenant_a, tenant_b):
    CandidateFactory.create_batch(2, tenant=tenant_a)
    CandidateFactory(tenant=tenant_b)

    operator_client.get(reverse("admin:interviews_candidate_changelist"))

    shown = {event.tenant_id: event.details for event in events("operator.listed")}
    assert shown == {
        tenant_a.pk: {"model": "interviews.candidate", "count": 2},
        tenant_b.pk: {"model": "interviews.candidate", "count": 1},
    }


def test_a_members_own_reads_are_not_recorded_as_operator_access(tenant_a):
    candidate = CandidateFactory(tenant=tenant_a)
    client = console_client(tenant_a, Role.OWNER)
    client.get(reverse("admin:interviews_candidate_changelist"))
    client.get(reverse("admin:interviews_candidate_change", args=[candidate.pk]))
    assert events("operator.viewed") == [] and events("operator.listed") == []
