"""The console's "Erase personal data": owners and admins (and operators) only, behind a
confirmation page; another tenant's candidate is a 404 for everyone. Deleting a candidate
erases the same way."""

import pytest
from django.urls import reverse

from core import rls
from interviews.models import Candidate
from privacy import archive
from tenants.models import Role
from tests.conftest import console_client
from tests.factories import CandidateFactory
from tests.privacy.support import audit_events, interview, tenant_rows

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:interviews_candidate_changelist"


def erase_url(candidate):
    return reverse("admin:interviews_candidate_erase", args=[candidate.pk])


def exists(candidate) -> bool:
    with rls.bypass_context():
        return Candidate.objects.filter(pk=candidate.pk).exists()


@pytest.fixture
def ada(tenant_a):
    candidate = CandidateFactory(tenant=tenant_a, full_name="Ada Lovelace")
    interview(tenant_a, ended_days_ago=2, candidate=candidate)
    return candidate


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RECRUITER])
def test_viewers_and_recruiters_may_not_erase(role, tenant_a, ada):
    client = console_client(tenant_a, role)
    assert client.get(erase_url(ada)).status_code == 403
    assert client.post(erase_url(ada), {"post": "yes"}).status_code == 403
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "erase_personal_data" not in page
    client.post(
        reverse(CHANGELIST),
        {"action": "erase_personal_data", "_selected_action": [ada.pk], "post": "yes"},
    )
    assert (
        "Erase personal data"
        not in client.get(
            reverse("admin:interviews_candidate_change", args=[ada.pk])
        ).content.decode()
    )
    assert exists(ada)
    assert not audit_events(tenant_a, "candidate.erased")


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_confirm_then_erase(role, tenant_a, ada):
    client = console_client(tenant_a, role)
    change = client.get(reverse("admin:interviews_candidate_change", args=[ada.pk]))
    assert erase_url(ada) in change.content.decode()

    page = client.get(erase_url(ada))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Ada Lovelace" in body and "cannot be undone" in body
    assert "1 session<" in body and "2 transcript entries" in body and "1 invitation<" in body
    assert exists(ada)  # asking is not erasing

    response = client.post(erase_url(ada), {"post": "yes"})
    assert response.status_code == 302 and response["Location"] == reverse(CHANGELIST)
    assert not exists(ada)
    [event] = audit_events(tenant_a, "candidate.erased")
    assert event.actor_id == client.user.pk


def test_the_list_action_confirms_then_erases_the_selection(tenant_a, tenant_b, ada):
    bob = CandidateFactory(tenant=tenant_a)
    kept = CandidateFactory(tenant=tenant_a)
    client = console_client(tenant_a, Role.ADMIN)
    selection = {"action": "erase_personal_data", "_selected_action": [ada.pk, bob.pk]}
    page = client.post(reverse(CHANGELIST), selection)
    assert page.status_code == 200 and "Yes, erase" in page.content.decode()
    assert exists(ada) and exists(bob)
    client.post(reverse(CHANGELIST), {**selection, "post": "yes"})
    assert not exists(ada) and not exists(bob) and exists(kept)
    assert len(audit_events(tenant_a, "candidate.erased")) == 2


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.RECRUITER, Role.VIEWER])
def test_another_tenants_candidate_is_not_found(role, tenant_a, tenant_b):
    theirs = CandidateFactory(tenant=tenant_b)
    interview(tenant_b, ended_days_ago=2, candidate=theirs)
    before = tenant_rows(tenant_b)
    client = console_client(tenant_a, role)
    assert client.get(erase_url(theirs)).status_code == 404
    assert client.post(erase_url(theirs), {"post": "yes"}).status_code == 404
    client.post(
        reverse(CHANGELIST),
        {"action": "erase_personal_data", "_selected_action": [theirs.pk], "post": "yes"},
    )
    assert tenant_rows(tenant_b) == before


def test_an_operator_may_erase_in_any_tenant(operator_client, tenant_b):
    theirs = CandidateFactory(tenant=tenant_b)
    assert operator_client.post(erase_url(theirs), {"post": "yes"}).status_code == 302
    assert not exists(theirs)
    [event] = audit_events(tenant_b, "candidate.erased")
    assert event.actor_id == operator_client.user.pk


def test_deleting_an_interviewed_candidate_erases_them_archives_included(tenant_a, ada):
    with rls.tenant_context(tenant_a.pk):
        [session] = list(ada.sessions.all())
    name = archive.session_archive_name(
        tenant_id=tenant_a.pk, candidate_id=ada.pk, session_id=session.pk
    )
    archive.archive_write(name, {"candidate": {"full_name": "Ada Lovelace"}})
    client = console_client(tenant_a, Role.ADMIN)
    delete = reverse("admin:interviews_candidate_delete", args=[ada.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not exists(ada)
    assert not archive.candidate_archives(tenant_id=tenant_a.pk, candidate_id=ada.pk)
    [event] = audit_events(tenant_a, "candidate.deleted")
    assert event.details["erased"]["interviews.interviewsession"]["count"] == 1


def test_a_candidate_in_an_interview_right_now_is_erased_only_after_it(tenant_a):
    cleo = CandidateFactory(tenant=tenant_a, full_name="Cleo Calling")
    interview(tenant_a, ended_days_ago=None, candidate=cleo, status="live")
    client = console_client(tenant_a, Role.OWNER)

    response = client.post(erase_url(cleo), {"post": "yes"}, follow=True)
    assert "interview is in progress" in response.content.decode()
    assert exists(cleo)
    assert not audit_events(tenant_a, "candidate.erased")
    # The console's delete says the same before anything is deleted.
    delete = client.get(reverse("admin:interviews_candidate_delete", args=[cleo.pk]))
    assert "Interview in progress" in delete.content.decode()
    assert exists(cleo)
