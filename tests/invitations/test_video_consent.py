"""What the candidate is told about the video recording: the consent text (a new version, stored
word for word; earlier versions' text stays as it was) and the device check, for a tenant that
records video, one that does not, and a template that requires a camera."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from core import rls
from interviews.models import Consent
from invitations.views import CONSENT_VERSION
from tests.factories import ConsentFactory, UserFactory
from tests.invitations.test_onboarding import issued_link, walk_to_sign_in

pytestmark = pytest.mark.django_db


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def with_video(tenant, *, enabled=True, required=False):
    invitation, link = issued_link(tenant)
    with rls.bypass_context():
        type(tenant).objects.filter(pk=tenant.pk).update(video_enabled=enabled)
        type(invitation.template).objects.filter(pk=invitation.template_id).update(
            video_required=required
        )
    return invitation, link


def consented(client, tenant, **video):
    """Walks to the device check; returns the stored consent and the device check page."""
    invitation, link = with_video(tenant, **video)
    walk_to_sign_in(client, link)
    user = UserFactory(email="ada@example.com")
    with rls.bypass_context():
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client.force_login(user)
    assert client.get(reverse("interview_sign_in"))["Location"] == reverse("interview_device_check")
    page = client.get(reverse("interview_device_check"))
    assert page.status_code == 200
    with rls.tenant_context(tenant.pk):
        consent = Consent.objects.get(candidate=invitation.candidate)
    return consent, page.content.decode()


def test_the_consent_says_the_camera_is_recorded_what_for_and_by_whom(client, tenant_a):
    consent, device_check = consented(client, tenant_a)
    assert consent.version == CONSENT_VERSION == "2026-12-03"
    assert "Your camera is also recorded on video for the whole interview" in consent.text
    assert "recruiting team can watch your answers when they review it" in consent.text
    assert "video storage and playback by api.video" in consent.text
    assert "the interview goes ahead with audio only" in consent.text
    assert f"(Consent text version {CONSENT_VERSION}.)" in consent.text
    shown = text(device_check)
    assert "Check your microphone and camera" in shown
    assert "Your camera is recorded on video during the interview" in shown
    assert "A camera is optional" in shown
    assert 'data-video="optional"' in device_check
    assert 'id="camera-preview"' in device_check


def test_a_template_that_requires_video_says_so_and_the_check_requires_a_camera(client, tenant_a):
    consent, device_check = consented(client, tenant_a, required=True)
    assert "This interview needs a working camera: you cannot start it without one." in (
        consent.text
    )
    assert "goes ahead with audio only" not in consent.text
    shown = text(device_check)
    assert 'This interview needs a working camera: "Start interview" stays unavailable' in shown
    assert '"Start interview" becomes available once your microphone and your camera work.' in (
        shown
    )
    assert 'data-video="required"' in device_check
    assert 'id="start-interview" disabled' in device_check


def test_a_tenant_that_records_no_video_says_nothing_of_video(client, tenant_a):
    # The template's requirement does not matter: the tenant records no video at all.
    consent, device_check = consented(client, tenant_a, enabled=False, required=True)
    assert "Your audio is recorded" in consent.text
    assert "video" not in consent.text.lower() and "camera" not in consent.text.lower()
    assert consent.version == CONSENT_VERSION
    content = device_check[device_check.index("<main") :]
    assert "Check your microphone" in text(content)
    assert 'data-video="off"' in device_check
    body = content.replace('data-video="off"', "")
    assert "video" not in body.lower() and "camera" not in body.lower()


def test_consents_given_to_an_earlier_version_keep_their_text(client, tenant_a):
    old_text = "Before your interview ... (Consent text version 2026-11-21.)"
    old = ConsentFactory(tenant=tenant_a, version="2026-11-21", text=old_text)
    consented(client, tenant_a)
    with rls.tenant_context(tenant_a.pk):
        old.refresh_from_db()
        versions = set(Consent.objects.values_list("version", flat=True))
    assert (old.version, old.text) == ("2026-11-21", old_text)
    assert versions == {"2026-11-21", CONSENT_VERSION}
