"""The candidate's way from the emailed link to a pending session, and every bad path."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from core import rls
from interviews.models import Consent, InterviewSession
from invitations.models import AccommodationRequest, InterviewInvitation
from invitations.services import invitation_deliver, invitation_issue
from tenants.models import AuditEvent, Role
from tests.factories import (
    CandidateFactory,
    MembershipFactory,
    TemplateFactory,
    UserFactory,
)
from tests.support.google import GOOGLE, google_sign_in

pytestmark = pytest.mark.django_db


def issued_link(tenant, email="ada@example.com"):
    candidate = CandidateFactory(tenant=tenant, email=email, full_name="Ada")
    template = TemplateFactory(tenant=tenant, role="Data engineer", max_duration_minutes=25)
    with rls.tenant_context(tenant.pk):
        invitation = invitation_issue(
            candidate=candidate, template=template, actor=None, send=False
        )
    token = invitation_deliver(invitation_id=invitation.pk, tenant_id=tenant.pk)
    return invitation, f"/i/{token}"


def walk_to_sign_in(client, link):
    assert client.get(link).status_code == 200
    response = client.post(reverse("interview_consent"), {"agree": "yes"})
    assert response["Location"] == reverse("interview_sign_in")
    page = client.get(reverse("interview_sign_in"))
    assert page.status_code == 200
    return page


def sign_in_by_email_code(client, email):
    mail.outbox.clear()
    response = client.post(
        reverse("account_request_login_code"),
        {"email": email, "next": reverse("interview_sign_in")},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    [message] = mail.outbox
    assert message.to == [email]
    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", message.body).group(1)
    assert client.get(response["Location"]).status_code == 200  # the code page, as a browser
    response = client.post(
        reverse("account_confirm_login_code"),
        {"code": code, "next": reverse("interview_sign_in")},
    )
    assert response.status_code == 302
    return response


def invitation_state(invitation):
    with rls.tenant_context(invitation.tenant_id):
        return InterviewInvitation.objects.select_related("session").get(pk=invitation.pk)


def test_the_code_page_is_part_of_the_candidate_flow(client, tenant_a):
    _, link = issued_link(tenant_a)
    walk_to_sign_in(client, link)
    client.post(
        reverse("account_request_login_code"),
        {"email": "ada@example.com", "next": reverse("interview_sign_in")},
    )
    page = client.get(reverse("account_confirm_login_code")).content.decode()
    assert 'aria-current="step">Sign in' in page  # the steps of the flow, not allauth's page
    assert 'autocomplete="one-time-code"' in page and "ada@example.com" in page

    wrong = client.post(reverse("account_confirm_login_code"), {"code": "AAAA-0000"})
    assert wrong.status_code == 200
    assert 'aria-invalid="true"' in wrong.content.decode()

    mail.outbox.clear()
    resent = client.post(reverse("account_confirm_login_code"), {"action": "resend"})
    assert resent.status_code == 302
    [message] = mail.outbox
    assert message.subject == "Your sign-in code"
    assert "Hello from" not in message.body  # the project's words, not allauth's
    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", message.body).group(1)
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302


def test_email_code_path_from_link_to_pending_session(client, tenant_a):
    invitation, link = issued_link(tenant_a)
    page = walk_to_sign_in(client, link)
    assert "ada@example.com" in page.content.decode()

    response = sign_in_by_email_code(client, "ada@example.com")
    assert response["Location"] == reverse("interview_sign_in")
    response = client.get(reverse("interview_sign_in"))
    assert response["Location"] == reverse("interview_device_check")
    page = client.get(reverse("interview_device_check"))
    assert page.status_code == 200
    assert 'id="start-interview" disabled' in page.content.decode()
    # One notice for signing in, not a second one for the address the code proved.
    notices = [str(m) for m in page.context["messages"]]
    assert notices == ["Successfully signed in as ada@example.com."]

    response = client.post(reverse("interview_start"))
    state = invitation_state(invitation)
    session = state.session
    assert response["Location"] == reverse("interview_session", args=[session.pk])
    assert session.status == "pending" and state.accepted_at is not None
    with rls.tenant_context(tenant_a.pk):
        consent = Consent.objects.get(pk=session.consent_id)
        assert consent.version and "AI interviewer" in consent.text
        assert consent.ip == "127.0.0.1"
        assert session.candidate.user.email == "ada@example.com"
        accepted = AuditEvent.objects.get(action="invitation.accepted")
        assert (accepted.actor_id, accepted.actor_label) == (None, "candidate")
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'id="interview-config"' in page.content.decode()

    # Starting again resumes the same session instead of creating another.
    again = client.post(reverse("interview_start"))
    assert again["Location"] == response["Location"]
    with rls.tenant_context(tenant_a.pk):
        assert InterviewSession.objects.count() == 1


@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE, GOOGLE_LOGIN_ENABLED=True)
def test_google_path_links_the_account(client, tenant_a):
    invitation, link = issued_link(tenant_a, email="grace@example.com")
    page = walk_to_sign_in(client, link)
    assert "Continue with Google" in page.content.decode()

    response, post = google_sign_in(
        client, "grace@example.com", next_url=reverse("interview_sign_in")
    )
    assert post.call_args.args[:2] == ("POST", "https://oauth2.googleapis.com/token")
    assert response["Location"] == reverse("interview_sign_in")
    assert client.get(reverse("interview_sign_in"))["Location"] == reverse("interview_device_check")
    client.post(reverse("interview_start"))
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.select_related("candidate__user").get()
    assert session.candidate.user.email == "grace@example.com"
    assert session.pk == invitation_state(invitation).session_id


def test_a_different_signed_in_account_is_told_clearly(client, tenant_a):
    _, link = issued_link(tenant_a)
    other = UserFactory(email="someone@else.example")
    with rls.bypass_context():
        EmailAddress.objects.create(user=other, email=other.email, verified=True, primary=True)
    client.force_login(other)
    walk_to_sign_in_status = client.get(link).status_code
    assert walk_to_sign_in_status == 200
    client.post(reverse("interview_consent"), {"agree": "yes"})
    page = client.get(reverse("interview_sign_in"))
    assert page.status_code == 403
    body = page.content.decode()
    assert "someone@else.example" in body and "ada@example.com" in body
    assert 'value="/interview/signed-out/"' in body
    assert "The link still works" in client.get("/interview/signed-out/").content.decode()
    assert client.post(reverse("interview_start"))["Location"] == reverse("interview_sign_in")


def test_no_session_starts_without_consent(client, tenant_a):
    invitation, link = issued_link(tenant_a)
    client.get(link)
    response = client.post(reverse("interview_consent"), {})
    assert response.status_code == 400
    assert "tick the box" in response.content.decode()
    assert client.get(reverse("interview_sign_in"))["Location"] == reverse("interview_consent")
    # Even signed in as the invited person, start sends them back to consent.
    user = UserFactory(email="ada@example.com")
    with rls.bypass_context():
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.force_login(user)
    client.get(link)
    assert client.post(reverse("interview_start"))["Location"] == reverse("interview_consent")
    assert invitation_state(invitation).session is None


def test_pages_without_an_invitation_explain_how_to_get_back(client):
    for name in ("interview_consent", "interview_sign_in", "interview_accommodation"):
        response = client.get(reverse(name))
        assert response.status_code == 400
        assert "invitation email" in response.content.decode()


def test_a_used_link_cannot_be_used_again(client, tenant_a):
    _, link = issued_link(tenant_a)
    walk_to_sign_in(client, link)
    sign_in_by_email_code(client, "ada@example.com")
    client.post(reverse("interview_start"))
    response = Client().get(link)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()


def test_a_link_revoked_mid_flow_stops_the_flow(client, tenant_a):
    invitation, link = issued_link(tenant_a)
    walk_to_sign_in(client, link)
    with rls.bypass_context():
        InterviewInvitation.objects.filter(pk=invitation.pk).update(
            revoked_at="2026-01-01T00:00:00Z"
        )
    response = client.get(reverse("interview_sign_in"))
    assert response.status_code == 410 and "withdrawn" in response.content.decode()


def test_resending_replaces_the_link(client, tenant_a):
    invitation, old_link = issued_link(tenant_a)
    new_token = invitation_deliver(invitation_id=invitation.pk, tenant_id=tenant_a.pk)
    assert client.get(old_link).status_code == 404
    assert client.get(f"/i/{new_token}").status_code == 200


@override_settings(INVITATION_OPEN_RATE="5/m")
def test_link_validation_is_rate_limited_per_ip(client):
    for _ in range(5):
        assert client.get("/i/" + "x" * 43, REMOTE_ADDR="203.0.113.7").status_code == 404
    limited = client.get("/i/" + "x" * 43, REMOTE_ADDR="203.0.113.7")
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert "Too many attempts" in limited.content.decode()
    # Another client is unaffected.
    assert client.get("/i/" + "x" * 43, REMOTE_ADDR="203.0.113.8").status_code == 404


def test_an_accommodation_request_reaches_the_tenants_managers(
    client, tenant_a, django_capture_on_commit_callbacks
):
    owner = MembershipFactory(tenant=tenant_a, role=Role.OWNER, user__email="boss@acme.example")
    MembershipFactory(tenant=tenant_a, role=Role.RECRUITER, user__email="rec@acme.example")
    _, link = issued_link(tenant_a)
    client.get(link)
    assert client.post(reverse("interview_accommodation"), {"message": " "}).status_code == 400
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("interview_accommodation"), {"message": "May I type my answers?"}
        )
    assert response.status_code == 200
    with rls.tenant_context(tenant_a.pk):
        request = AccommodationRequest.objects.get()
        assert request.message == "May I type my answers?"
        assert AuditEvent.objects.filter(action="accommodation.requested").exists()
    [notice] = mail.outbox
    assert notice.to == [owner.user.email]
    assert "May I type my answers?" in notice.body
