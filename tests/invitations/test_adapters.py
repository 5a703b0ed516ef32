"""Only candidates sign in with an emailed code or Google. Console users (operators, staff,
members of a tenant in any role) are refused there and sign in at the console instead."""

import re
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from core import rls
from tenants.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.support.google import GOOGLE, google_sign_in

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b")
CONSOLE_USERS = ["operator", "staff", *[f"member-{role}" for role in Role.values]]


def make_console_user(kind, tenant):
    if kind == "operator":
        return UserFactory(is_staff=True, is_superuser=True)
    if kind == "staff":
        return UserFactory(is_staff=True)
    # A member without is_staff: the membership alone makes it a console account.
    user = UserFactory(is_staff=False)
    MembershipFactory(tenant=tenant, user=user, role=kind.removeprefix("member-"))
    return user


@pytest.fixture(params=CONSOLE_USERS)
def console_user(request, tenant_a):
    return make_console_user(request.param, tenant_a)


def request_code(client, email):
    mail.outbox.clear()
    response = client.post(reverse("account_request_login_code"), {"email": email})
    assert response.status_code == 302
    return response


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_a_console_user_gets_no_login_code(client, console_user):
    request_code(client, console_user.email)

    [message] = mail.outbox
    assert message.to == [console_user.email]
    assert CODE.search(message.body) is None
    assert reverse("admin:login") in message.body
    # Whatever is typed, the pending login has no account behind it.
    client.post(reverse("account_confirm_login_code"), {"code": "AAAA-0000"})
    assert not is_signed_in(client)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 302


def test_the_page_answers_a_console_address_as_any_other(client, console_user):
    """So the code form does not tell anyone which addresses are console accounts."""
    known = request_code(client, console_user.email)
    unknown = request_code(client, "nobody@example.com")
    assert known["Location"] == unknown["Location"]


def test_a_console_user_holding_a_code_is_still_refused(client, console_user):
    """The second wall: should a code be made for a console account anyway, completing it
    does not sign the account in."""
    with mock.patch("invitations.forms.is_console_user", return_value=False):
        with mock.patch("invitations.adapters.is_console_user", return_value=False):
            request_code(client, console_user.email)
    code = CODE.search(mail.outbox[0].body).group(1)

    response = client.post(reverse("account_confirm_login_code"), {"code": code})

    assert response.status_code == 403
    assert reverse("admin:login") in response.content.decode()
    assert not is_signed_in(client)


def test_the_candidate_sign_in_page_sends_a_console_user_no_code(client, console_user):
    mail.outbox.clear()
    client.post(reverse("account_login"), {"login": console_user.email})
    [message] = mail.outbox
    assert CODE.search(message.body) is None
    assert not is_signed_in(client)


def candidate_account():
    """A candidate's account as the invitation's sign-in page creates it."""
    user = UserFactory(password=None)
    with rls.bypass_context():
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    return user


def test_a_candidate_still_signs_in_by_code(client):
    candidate = candidate_account()
    request_code(client, candidate.email)
    code = CODE.search(mail.outbox[0].body).group(1)

    response = client.post(reverse("account_confirm_login_code"), {"code": code})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(candidate.pk)


@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE, GOOGLE_LOGIN_ENABLED=True)
def test_a_console_user_cannot_sign_in_with_google(client, console_user):
    response, _ = google_sign_in(client, console_user.email)

    assert response.status_code == 403
    assert reverse("admin:login") in response.content.decode()
    assert not is_signed_in(client)
    # Neither linked to the Google identity nor stripped of the console password.
    with rls.bypass_context():
        assert not SocialAccount.objects.filter(user=console_user).exists()
        assert get_user_model().objects.get(pk=console_user.pk).has_usable_password()


@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE, GOOGLE_LOGIN_ENABLED=True)
def test_a_candidate_still_signs_in_with_google(client):
    candidate = candidate_account()

    response, _ = google_sign_in(client, candidate.email)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(candidate.pk)


def test_no_password_is_reset_or_set_by_email(client, console_user):
    # An inbox alone must not open the console: allauth's password pages are not offered.
    mail.outbox.clear()
    response = client.post("/accounts/password/reset/", {"email": console_user.email})
    assert response.status_code == 404 and mail.outbox == []
    client.force_login(console_user)
    for page in ("/accounts/password/set/", "/accounts/password/change/"):
        assert client.get(page).status_code == 404, page
    assert client.get("/accounts/password/reset/key/1-set-password/").status_code == 404
