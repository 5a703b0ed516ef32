"""A candidate walks from the emailed link to a pending session in a real browser."""

import re

import pytest
from django.core import mail

from core import rls
from interviews.models import InterviewSession
from invitations.services import invitation_deliver, invitation_issue
from tests.browser.conftest import snap
from tests.factories import CandidateFactory, TemplateFactory

pytestmark = pytest.mark.django_db(transaction=True)


def invite(tenant, **template_fields):
    candidate = CandidateFactory(tenant=tenant, email="ada@example.com", full_name="Ada")
    template = TemplateFactory(tenant=tenant, role="Data engineer", **template_fields)
    with rls.tenant_context(tenant.pk):
        invitation = invitation_issue(
            candidate=candidate, template=template, actor=None, send=False
        )
    return template, invitation_deliver(invitation_id=invitation.pk, tenant_id=tenant.pk)


def walk_onboarding(page, live_server, token):
    """From the emailed link to the interview page, as a candidate would."""
    page.goto(f"{live_server.url}/i/{token}")
    assert "Your interview for Data engineer" in page.content()
    page.get_by_role("link", name="Continue").click()

    snap(page, "onboarding-consent")
    page.get_by_role("button", name="I agree, continue").click()
    assert page.get_by_role("alert").is_visible()  # not ticked yet
    page.get_by_label("I have read this and agree").check()
    page.get_by_role("button", name="I agree, continue").click()

    mail.outbox.clear()
    page.get_by_role("button", name="Email me a sign-in code").click()
    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", mail.outbox[-1].body).group(1)
    page.get_by_label("Code").fill(code)
    snap(page, "onboarding-sign-in-code")
    page.get_by_role("button", name="Sign in", exact=True).click()

    page.wait_for_url("**/interview/device-check/")
    start = page.get_by_role("button", name="Start interview")
    # Enabled only once the (fake) microphone delivers sound.
    page.wait_for_function(
        "() => !document.getElementById('start-interview').disabled", timeout=15000
    )
    assert "Your microphone works" in page.locator("#device-status").inner_text()
    assert page.locator("#camera-state").inner_text() == "Camera: on"
    snap(page, "onboarding-device-check")
    start.click()
    page.wait_for_url("**/interview/session/**")


def test_link_consent_code_sign_in_device_check_and_start(live_server, page, tenant_a):
    _, token = invite(tenant_a)
    walk_onboarding(page, live_server, token)
    with rls.tenant_context(tenant_a.pk):
        assert InterviewSession.objects.get().status in {"pending", "connecting", "live"}


def signed_in_at_device_check(live_server, page, tenant):
    """A browser already through consent and sign-in (set up with Django's test client)."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.test import Client

    from interviews.services import consent_record
    from invitations.flow import FLOW_CONSENT_KEY, FLOW_INVITATION_KEY
    from tests.factories import InvitationFactory, UserFactory

    user = UserFactory(email="ada@example.com")
    with rls.bypass_context():
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    invitation = InvitationFactory(tenant=tenant, candidate__email="ada@example.com")
    with rls.tenant_context(tenant.pk):
        consent = consent_record(candidate=invitation.candidate, version="t", text="t", ip=None)
    client = Client()
    client.force_login(user)
    session = client.session
    session[FLOW_INVITATION_KEY] = str(invitation.pk)
    session[FLOW_CONSENT_KEY] = str(consent.pk)
    session.save()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key,
                "url": live_server.url,
            }
        ]
    )


def test_a_blocked_microphone_explains_what_to_do(live_server, page, tenant_a):
    signed_in_at_device_check(live_server, page, tenant_a)
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => "
        "Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    )
    page.goto(f"{live_server.url}/interview/device-check/")
    status = page.get_by_role("status")
    page.wait_for_function(
        "() => document.getElementById('device-status').textContent.includes('blocked')"
    )
    assert "Allow it in your browser" in status.inner_text()
    assert page.locator("#device-help").is_visible()
    assert page.get_by_role("button", name="Start interview").is_disabled()


def test_the_device_check_is_keyboard_operable(live_server, page, tenant_a):
    signed_in_at_device_check(live_server, page, tenant_a)
    page.goto(f"{live_server.url}/interview/device-check/")
    page.wait_for_function(
        "() => !document.getElementById('start-interview').disabled", timeout=15000
    )
    page.locator("#check-devices").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "start-interview"
    page.keyboard.press("Enter")
    page.wait_for_url("**/interview/session/**")
