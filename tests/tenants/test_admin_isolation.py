"""The application wall: every console page, for every model and every role, answers only
for the member's own tenant. Another tenant's object is a 404, never a redirect or a change."""

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.urls import reverse

from core import rls
from interviews.models import Candidate, InterviewSession, InterviewTemplate
from invitations.models import AccommodationRequest, InterviewInvitation
from tenant_api.models import ApiClient
from tenants.models import AuditEvent, Membership, Role, Tenant
from tests.conftest import console_client
from tests.factories import (
    AccommodationRequestFactory,
    ApiClientFactory,
    AuditEventFactory,
    CandidateFactory,
    InvitationFactory,
    MembershipFactory,
    SessionEventFactory,
    SessionFactory,
    TemplateFactory,
    TranscriptEntryFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

MAKERS = {
    Tenant: lambda tenant: tenant,
    Membership: lambda tenant: MembershipFactory(tenant=tenant),
    AuditEvent: lambda tenant: AuditEventFactory(tenant=tenant),
    Candidate: lambda tenant: CandidateFactory(tenant=tenant),
    InterviewTemplate: lambda tenant: TemplateFactory(tenant=tenant),
    InterviewSession: lambda tenant: SessionFactory(tenant=tenant),
    InterviewInvitation: lambda tenant: InvitationFactory(tenant=tenant),
    AccommodationRequest: lambda tenant: AccommodationRequestFactory(invitation__tenant=tenant),
    WebhookEndpoint: lambda tenant: WebhookEndpointFactory(tenant=tenant),
    WebhookDelivery: lambda tenant: WebhookDeliveryFactory(endpoint__tenant=tenant),
    ApiClient: lambda tenant: ApiClientFactory(tenant=tenant),
}
PROJECT_APPS = {"tenants", "interviews", "invitations", "webhooks", "tenant_api"}
ROLES = [Role.OWNER, Role.ADMIN, Role.RECRUITER, Role.VIEWER]


def test_every_registered_console_model_is_covered():
    registered = {m for m in admin.site._registry if m._meta.app_label in PROJECT_APPS}
    assert registered == set(MAKERS)


def url(obj, view):
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def snapshot(obj):
    with rls.bypass_context():
        fresh = type(obj)._default_manager.filter(pk=obj.pk).first()
        return None if fresh is None else model_to_dict(fresh)


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


@pytest.fixture(params=list(MAKERS), ids=lambda m: m.__name__)
def model(request):
    return request.param


def test_changelist_lists_only_own_tenant(model, role, tenant_a, tenant_b):
    client = console_client(tenant_a, role)
    mine, theirs = MAKERS[model](tenant_a), MAKERS[model](tenant_b)
    meta = model._meta
    response = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert url(mine, "change") in body
    assert url(theirs, "change") not in body


def test_other_tenants_objects_are_404_on_every_page(model, role, tenant_a, tenant_b):
    client = console_client(tenant_a, role)
    theirs = MAKERS[model](tenant_b)
    before = snapshot(theirs)
    for view in ("change", "delete", "history"):
        assert client.get(url(theirs, view)).status_code == 404, view
    assert client.post(url(theirs, "change"), {}).status_code == 404
    assert client.post(url(theirs, "delete"), {"post": "yes"}).status_code == 404
    assert snapshot(theirs) == before


def test_actions_never_touch_other_tenants_objects(model, role, tenant_a, tenant_b):
    client = console_client(tenant_a, role)
    MAKERS[model](tenant_a)
    theirs = MAKERS[model](tenant_b)
    before = snapshot(theirs)
    meta = model._meta
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    model_admin = admin.site._registry[model]
    request = client.get(changelist).wsgi_request
    actions = list(model_admin.get_actions(request))
    for action in actions:
        client.post(
            changelist,
            {"action": action, "_selected_action": [str(theirs.pk)], "post": "yes"},
        )
    assert snapshot(theirs) == before


def test_own_objects_open_for_every_role(model, role, tenant_a):
    client = console_client(tenant_a, role)
    mine = MAKERS[model](tenant_a)
    assert client.get(url(mine, "change")).status_code == 200


def test_every_role_sees_every_section_of_a_page(model, role, tenant_a):
    """The inlines (a session's transcript and timeline, a candidate's sessions...) show for
    every role, not only for operators: roles, not Django's permission rows, decide."""
    client = console_client(tenant_a, role)
    mine = MAKERS[model](tenant_a)
    response = client.get(url(mine, "change"))
    shown = [formset.opts.__class__ for formset in response.context["inline_admin_formsets"]]
    assert shown == list(admin.site._registry[model].inlines)


def test_a_recruiter_reads_the_transcript_and_timeline(tenant_a):
    session = SessionFactory(tenant=tenant_a)
    TranscriptEntryFactory(session=session, speaker="candidate", text="I built a queue.")
    SessionEventFactory(session=session, kind="interviewer.started")
    response = console_client(tenant_a, Role.RECRUITER).get(url(session, "change"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "I built a queue." in page and "interviewer.started" in page


def test_a_viewer_cannot_change_or_add(tenant_a):
    client = console_client(tenant_a, Role.VIEWER)
    candidate = CandidateFactory(tenant=tenant_a, full_name="Before")
    response = client.post(url(candidate, "change"), {"email": candidate.email, "full_name": "X"})
    assert response.status_code == 403
    assert client.get(reverse("admin:interviews_candidate_add")).status_code == 403
    assert client.post(url(candidate, "delete"), {"post": "yes"}).status_code == 403
    assert snapshot(candidate)["full_name"] == "Before"


def test_a_recruiter_cannot_delete_candidates_but_an_admin_can(tenant_a):
    candidate = CandidateFactory(tenant=tenant_a)
    recruiter = console_client(tenant_a, Role.RECRUITER)
    assert recruiter.post(url(candidate, "delete"), {"post": "yes"}).status_code == 403
    assert snapshot(candidate) is not None
    manager = console_client(tenant_a, Role.ADMIN)
    assert manager.post(url(candidate, "delete"), {"post": "yes"}).status_code == 302
    assert snapshot(candidate) is None


def test_a_staff_user_without_membership_sees_nothing(tenant_a):
    CandidateFactory(tenant=tenant_a)
    user = UserFactory(username="lonely", is_staff=True)
    from django.test import Client

    client = Client()
    client.force_login(user)
    assert client.get(reverse("admin:interviews_candidate_changelist")).status_code == 403
    assert "Candidates" not in client.get(reverse("admin:index")).content.decode()


def test_an_operator_sees_every_tenant_and_is_audited(operator_client, tenant_a, tenant_b):
    mine, theirs = CandidateFactory(tenant=tenant_a), CandidateFactory(tenant=tenant_b)
    body = operator_client.get(reverse("admin:interviews_candidate_changelist")).content.decode()
    assert url(mine, "change") in body and url(theirs, "change") in body
    with rls.bypass_context():
        assert AuditEvent.objects.filter(
            action="operator.bypass", actor=operator_client.user
        ).exists()


def test_viewers_see_no_actions_that_change_anything(tenant_a):
    from tests.factories import SessionFactory

    viewer = console_client(tenant_a, Role.VIEWER)
    session = SessionFactory(tenant=tenant_a, status="completed")
    changelist = reverse("admin:interviews_interviewsession_changelist")
    page = viewer.get(changelist).content.decode()
    assert "decide_advance" not in page
    viewer.post(changelist, {"action": "decide_advance", "_selected_action": [session.pk]})
    request = AccommodationRequestFactory(invitation__tenant=tenant_a)
    viewer.post(
        reverse("admin:invitations_accommodationrequest_changelist"),
        {"action": "mark_resolved", "_selected_action": [request.pk]},
    )
    assert snapshot(session)["decision"] == ""
    assert snapshot(request)["resolved_at"] is None
