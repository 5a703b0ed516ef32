"""Two-factor authentication in a real browser: a recruiter signs in with their password,
sets up an authenticator app from the console (the QR code shown and readable, the key typed
instead), keeps the recovery codes, signs out, and signs in again with password and code."""

import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from tenants.models import Role
from tests.browser.conftest import snap
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's


def app_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in_with_password(page, base, username):
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_a_recruiter_sets_up_two_factor_and_signs_in_with_a_code(browser, live_server, tenant_a):
    user = MembershipFactory(tenant=tenant_a, role=Role.RECRUITER).user
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        sign_in_with_password(page, live_server.url, user.username)
        page.click("text=Two-factor authentication")
        qr = page.locator("#totp-qr svg").bounding_box()
        assert qr and qr["width"] >= 150 and qr["height"] >= 150
        secret = page.inner_text("#totp-secret").strip()
        snap(page, "two-factor-setup")
        page.fill("#id_code", app_code(secret))
        page.click("input[type=submit]")
        codes = page.locator("#recovery-codes li").all_inner_texts()
        assert len(codes) == 10
        snap(page, "two-factor-recovery-codes")

        page.click("#logout-form button")
        # A code from the next period: the one just used to set it up is not taken twice.
        time.sleep(max(0.0, 30 - time.time() % 30) + 0.2)
        sign_in_with_password(page, live_server.url, user.username)
        assert page.url.endswith("/admin/login/code/")
        snap(page, "two-factor-code-step")
        page.fill("#id_code", app_code(secret))
        page.click("input[type=submit]")
        assert page.url == f"{live_server.url}/admin/"
        assert page.locator("#user-tools").count() == 1
    finally:
        context.close()
