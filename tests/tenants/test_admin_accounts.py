"""Accounts shown read-only in the console (who decided, who invited, a candidate's account,
a member, an audit event's actor) name the person; only an operator gets a link to the
account's page, which no member may open."""

import pytest
from django.urls import reverse

from tenants.models import Role
from tests.conftest import console_client
from tests.factories import (
    AuditEventFactory,
    CandidateFactory,
    InvitationFactory,
    MembershipFactory,
    SessionFactory,
    TemplateFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def account_page(tenant, user, kind: str) -> tuple[str, tuple]:
    """The console page of an object of ``kind`` in ``tenant`` that shows ``user``."""
    if kind == "decided_by":
        obj = SessionFactory(tenant=tenant, status="completed", decision="advance", decided_by=user)
        return "admin:interviews_interviewsession_change", (obj.pk,)
    if kind == "candidate_account":
        obj = CandidateFactory(tenant=tenant, user=user)
        return "admin:interviews_candidate_change", (obj.pk,)
    if kind == "template_created_by":
        obj = TemplateFactory(tenant=tenant, created_by=user)
        return "admin:interviews_interviewtemplate_change", (obj.pk,)
    if kind == "invitation_created_by":
        obj = InvitationFactory(tenant=tenant, created_by=user)
        return "admin:invitations_interviewinvitation_change", (obj.pk,)
    if kind == "member":
        obj = MembershipFactory(tenant=tenant, user=user, role=Role.VIEWER)
        return "admin:tenants_membership_change", (obj.pk,)
    obj = AuditEventFactory(tenant=tenant, actor=user)
    return "admin:tenants_auditevent_change", (obj.pk,)


KINDS = [
    "decided_by",
    "candidate_account",
    "template_created_by",
    "invitation_created_by",
    "member",
    "audit_actor",
]


@pytest.mark.parametrize("kind", KINDS)
def test_a_member_sees_the_person_without_a_link_they_could_not_follow(tenant_a, kind):
    client = console_client(tenant_a, Role.ADMIN)
    person = UserFactory(first_name="Ann", last_name="Lee", email="ann.lee@example.com")
    if kind != "member":
        MembershipFactory(tenant=tenant_a, user=person, role=Role.RECRUITER)
    name, args = account_page(tenant_a, person, kind)
    page = client.get(reverse(name, args=args)).content.decode()
    assert "Ann Lee &lt;ann.lee@example.com&gt;" in page
    user_page = reverse("admin:auth_user_change", args=[person.pk])
    assert user_page not in page
    assert client.get(user_page).status_code == 403  # why there must be no link


@pytest.mark.parametrize("kind", KINDS)
def test_an_operator_gets_a_link_to_the_account(operator_client, tenant_a, kind):
    person = UserFactory(first_name="Ann", last_name="Lee", email="ann.lee@example.com")
    name, args = account_page(tenant_a, person, kind)
    page = operator_client.get(reverse(name, args=args)).content.decode()
    user_page = reverse("admin:auth_user_change", args=[person.pk])
    assert f'<a href="{user_page}">Ann Lee &lt;ann.lee@example.com&gt;</a>' in page
    assert operator_client.get(user_page).status_code == 200


@pytest.mark.parametrize("kind", ["decided_by", "invitation_created_by"])
def test_someone_the_tenant_may_not_read_is_named_as_its_audit_trail_names_them(tenant_a, kind):
    # An operator acted, or a member who has since been removed: their account is not the
    # tenant's to read, but the tenant's audit trail names them, and so does the page.
    client = console_client(tenant_a, Role.RECRUITER)
    outsider = UserFactory(first_name="Olga", email="olga@platform.example", is_staff=True)
    AuditEventFactory(tenant=tenant_a, actor=outsider, actor_label="olga@platform.example")
    name, args = account_page(tenant_a, outsider, kind)
    page = client.get(reverse(name, args=args)).content.decode()
    assert "olga@platform.example (not a member of this organisation" in page
    assert reverse("admin:auth_user_change", args=[outsider.pk]) not in page


def test_someone_unknown_to_the_trail_is_still_said_to_be_outside_it(tenant_a):
    client = console_client(tenant_a, Role.RECRUITER)
    outsider = UserFactory(email="olga@platform.example", is_staff=True)
    name, args = account_page(tenant_a, outsider, "decided_by")
    page = client.get(reverse(name, args=args)).content.decode()
    assert "someone (not a member of this organisation" in page and "olga" not in page
