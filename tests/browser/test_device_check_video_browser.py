"""The device check in a real browser (Chromium's fake microphone and camera) when the template
requires video, when video is optional and the candidate has no camera, and when the tenant
records no video (no camera asked for)."""

import pytest

from core import rls
from interviews.models import InterviewTemplate
from tenants.models import Tenant
from tests.browser.conftest import snap
from tests.browser.test_onboarding_browser import signed_in_at_device_check

pytestmark = pytest.mark.django_db(transaction=True)

# What each getUserMedia call asked for, and no camera on this device when ``noCamera``.
MEDIA = """
window.asked = [];
const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = (constraints) => {
  window.asked.push(Boolean(constraints.video));
  if (constraints.video && %s) {
    return Promise.reject(new DOMException("no camera", "NotFoundError"));
  }
  return real(constraints);
};
"""


def at_device_check(live_server, page, tenant, *, video=True, required=False, camera=True):
    signed_in_at_device_check(live_server, page, tenant)
    with rls.bypass_context():
        Tenant.objects.filter(pk=tenant.pk).update(video_enabled=video)
        InterviewTemplate.objects.filter(tenant=tenant).update(video_required=required)
    page.add_init_script(MEDIA % ("false" if camera else "true"))
    page.goto(f"{live_server.url}/interview/device-check/")


def test_a_required_camera_that_is_missing_keeps_start_disabled_and_says_why(
    live_server, page, tenant_a
):
    at_device_check(live_server, page, tenant_a, required=True, camera=False)
    page.wait_for_function(
        "() => document.getElementById('device-status').textContent"
        ".includes('needs a working camera')"
    )
    page.wait_for_function(
        "() => document.getElementById('mic-state').textContent === 'Microphone: working'",
        timeout=15000,
    )
    assert "your camera does not" in page.locator("#device-status").inner_text()
    assert page.locator("#camera-state").inner_text() == (
        "Camera: not available (this interview needs one)"
    )
    assert page.locator("#device-help").is_visible()
    assert page.get_by_role("button", name="Start interview").is_disabled()
    snap(page, "device-check-camera-required-missing")


def test_a_required_camera_that_works_lets_the_candidate_start(live_server, page, tenant_a):
    at_device_check(live_server, page, tenant_a, required=True)
    page.wait_for_function(
        "() => !document.getElementById('start-interview').disabled", timeout=15000
    )
    assert page.locator("#camera-state").inner_text() == "Camera: on"


def test_an_optional_camera_that_is_missing_means_audio_only(live_server, page, tenant_a):
    at_device_check(live_server, page, tenant_a, camera=False)
    page.wait_for_function(
        "() => !document.getElementById('start-interview').disabled", timeout=15000
    )
    assert page.locator("#camera-state").inner_text() == "Camera: not available (audio only)"


def test_a_tenant_without_video_asks_for_no_camera(live_server, page, tenant_a):
    at_device_check(live_server, page, tenant_a, video=False, required=True)
    page.wait_for_function(
        "() => !document.getElementById('start-interview').disabled", timeout=15000
    )
    assert page.evaluate("window.asked") == [False]
    assert page.locator("#camera-preview").count() == 0
    assert "camera" not in page.locator("main").inner_text().lower()
