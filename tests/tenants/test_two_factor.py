"""Two-factor authentication for console users: setting it up from the console, the code the
sign-in then asks for after the password (or a recovery code, once each), wrong codes limited
and recorded, switching it off, and a tenant that makes it mandatory for its members."""

import re
import threading
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client
from django.urls import reverse

from core import rls
from tenants import selectors, services
from tenants.models import AuditEvent, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's
TWO_FACTOR = "/admin/account/two-factor/"
CODE_STEP = "/admin/login/code/"


def code_for(secret: str, periods_ago: int = 0) -> str:
    """What an authenticator app holding ``secret`` shows now (or a period earlier)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 - periods_ago))


def events(action):
    with rls.bypass_context():
        return list(AuditEvent.objects.filter(action=action).order_by("created_at"))


def authenticators(user):
    with rls.bypass_context():
        return set(Authenticator.objects.filter(user=user).values_list("type", flat=True))


@pytest.fixture
def member(tenant_a):
    return MembershipFactory(tenant=tenant_a, role=Role.RECRUITER, user__is_staff=True).user


def signed_in(user) -> Client:
    """A browser signed in as ``user`` - with the second factor, if they have one."""
    client = Client()
    client.force_login(user)
    verified_second_factor(client, user)
    return client


def verified_second_factor(client, user) -> None:
    state = selectors.two_factor_state(user)
    if state:
        session = client.session
        session[selectors.TWO_FACTOR_SESSION_KEY] = state
        session.save()


def enrol(user) -> tuple[str, list[str]]:
    """Set up two-factor authentication through the console page; returns the secret and the
    recovery codes shown."""
    client = signed_in(user)
    page = client.get(TWO_FACTOR).content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    # The previous period's code (still accepted): the current one is left for signing in,
    # since each code is accepted once.
    response = client.post(TWO_FACTOR, {"code": code_for(secret, periods_ago=1)})
    codes = re.findall(r"<li><code>(\d+)</code></li>", response.content.decode())
    return secret, codes


def password_step(client, user, next_url="/admin/interviews/candidate/"):
    return client.post(
        "/admin/login/",
        {"username": user.username, "password": PASSWORD, "next": next_url},
        REMOTE_ADDR="203.0.113.10",
    )


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- Setting it up --------------------------------------------------------------------------


def test_the_page_shows_a_qr_code_and_the_key_and_a_right_code_turns_it_on(member):
    client = signed_in(member)
    page = client.get(TWO_FACTOR).content.decode()
    assert "<svg" in page and 'id="totp-secret"' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert client.get(TWO_FACTOR).content.decode().count(secret) >= 1  # kept while setting up

    wrong = client.post(TWO_FACTOR, {"code": "000000" if code_for(secret) != "000000" else "1"})
    assert "That code is not right" in wrong.content.decode()
    assert authenticators(member) == set()

    response = client.post(TWO_FACTOR, {"code": code_for(secret)})

    codes = re.findall(r"<li><code>(\d+)</code></li>", response.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert authenticators(member) == {"totp", "recovery_codes"}
    [event] = events("two_factor.enrolled")
    assert event.actor_id == member.pk and event.tenant_id is not None
    assert secret not in str(event.details)
    assert "on" in client.get(TWO_FACTOR).content.decode()  # the status page now
    # The code that turned it on is spent: it does not sign in.
    again = Client()
    password_step(again, member)
    assert again.post(CODE_STEP, {"code": code_for(secret)}).status_code == 200
    assert not is_signed_in(again)


# --- Signing in -----------------------------------------------------------------------------


def test_with_two_factor_the_password_alone_does_not_sign_in(member):
    secret, _ = enrol(member)
    client = Client()

    response = password_step(client, member)

    assert response.status_code == 302 and response["Location"] == CODE_STEP
    assert not is_signed_in(client)
    assert not events("console.login")
    # Nothing of the console opens meanwhile.
    assert client.get("/admin/").status_code == 302 and not is_signed_in(client)

    done = client.post(CODE_STEP, {"code": code_for(secret)})

    assert done.status_code == 302 and done["Location"] == "/admin/interviews/candidate/"
    assert is_signed_in(client)
    [login] = events("console.login")
    assert login.details == {"second_factor": "totp"} and login.actor_id == member.pk


def test_without_two_factor_the_password_signs_in_at_once(member):
    client = Client()
    assert password_step(client, member)["Location"] == "/admin/interviews/candidate/"
    assert is_signed_in(client)


def test_a_wrong_code_is_refused_and_recorded(member):
    secret, _ = enrol(member)
    client = Client()
    password_step(client, member)
    wrong = str((int(code_for(secret)) + 1) % 1_000_000).zfill(6)

    response = client.post(CODE_STEP, {"code": wrong})

    assert response.status_code == 200 and "That code is not right" in response.content.decode()
    assert not is_signed_in(client)
    [failed] = events("two_factor.failed")
    assert failed.target_id == str(member.pk) and failed.ip == "127.0.0.1"


def test_a_code_works_only_once(member):
    secret, _ = enrol(member)
    code = code_for(secret)
    first = Client()
    password_step(first, member)
    assert first.post(CODE_STEP, {"code": code}).status_code == 302
    second = Client()
    password_step(second, member)
    assert second.post(CODE_STEP, {"code": code}).status_code == 200
    assert not is_signed_in(second)


def test_a_recovery_code_signs_in_once(member):
    _, codes = enrol(member)
    client = Client()
    password_step(client, member)

    response = client.post(CODE_STEP, {"code": codes[3]})

    assert response.status_code == 302 and is_signed_in(client)
    [used] = events("two_factor.recovery_code_used")
    assert used.details == {"codes_left": 9}
    assert events("console.login")[0].details == {"second_factor": "recovery_code"}
    again = Client()
    password_step(again, member)
    assert again.post(CODE_STEP, {"code": codes[3]}).status_code == 200
    assert not is_signed_in(again)
    assert again.post(CODE_STEP, {"code": codes[4]}).status_code == 302


def test_wrong_codes_are_limited_then_even_the_right_one_waits(member, settings):
    secret, _ = enrol(member)
    client = Client()
    password_step(client, member)
    wrong = str((int(code_for(secret)) + 1) % 1_000_000).zfill(6)
    for _ in range(5):
        assert client.post(CODE_STEP, {"code": wrong}).status_code == 200

    response = client.post(CODE_STEP, {"code": code_for(secret)})

    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert not is_signed_in(client)


def test_the_code_step_needs_the_password_step_first(member):
    secret, _ = enrol(member)
    client = Client()
    response = client.post(CODE_STEP, {"code": code_for(secret)})
    assert response.status_code == 302 and response["Location"] == "/admin/login/"
    assert not is_signed_in(client)


def test_the_code_step_expires(member, monkeypatch):
    secret, _ = enrol(member)
    client = Client()
    password_step(client, member)
    later = time.time() + 6 * 60
    monkeypatch.setattr("tenants.views.time.time", lambda: later)
    response = client.post(CODE_STEP, {"code": code_for(secret)})
    assert response["Location"] == "/admin/login/" and not is_signed_in(client)


def test_allauths_own_two_factor_pages_are_not_served(member):
    assert signed_in(member).get("/accounts/2fa/").status_code == 404
    assert signed_in(member).get("/accounts/2fa/totp/activate").status_code == 404


# --- Switching it off -----------------------------------------------------------------------


def test_switching_it_off_needs_a_right_code_and_is_recorded(member):
    secret, _ = enrol(member)
    client = signed_in(member)
    wrong = str((int(code_for(secret)) + 1) % 1_000_000).zfill(6)

    assert client.post(TWO_FACTOR, {"code": wrong}).status_code == 200
    assert authenticators(member) == {"totp", "recovery_codes"}

    response = client.post(TWO_FACTOR, {"code": code_for(secret)})

    assert response.status_code == 302
    assert authenticators(member) == set()
    [event] = events("two_factor.disabled")
    assert event.actor_id == member.pk
    assert password_step(Client(), member)["Location"] == "/admin/interviews/candidate/"


# --- Mandatory for a tenant's members -------------------------------------------------------


def require_two_factor(tenant):
    with rls.bypass_context():
        type(tenant).objects.filter(pk=tenant.pk).update(require_two_factor=True)


def test_a_member_of_a_tenant_that_requires_it_reaches_only_the_set_up_page(member, tenant_a):
    require_two_factor(tenant_a)
    client = Client()
    password_step(client, member)
    assert is_signed_in(client)

    for path in ("/admin/", "/admin/interviews/candidate/", "/admin/tenants/auditevent/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == TWO_FACTOR, path
    page = client.get(TWO_FACTOR)
    assert page.status_code == 200
    assert "Your organisation requires two-factor authentication" in page.content.decode()

    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.content.decode()).group(1)
    client.post(TWO_FACTOR, {"code": code_for(secret)})
    assert client.get("/admin/").status_code == 200


def test_it_cannot_be_switched_off_while_a_tenant_requires_it(member, tenant_a):
    secret, _ = enrol(member)
    require_two_factor(tenant_a)
    client = signed_in(member)
    response = client.post(TWO_FACTOR, {"code": code_for(secret)})
    assert response.status_code == 200
    assert authenticators(member) == {"totp", "recovery_codes"}
    assert not events("two_factor.disabled")


def test_owners_turn_the_requirement_on_in_the_tenant_settings(tenant_a):
    from tests.conftest import console_client

    owner = console_client(tenant_a, Role.OWNER)
    response = owner.post(
        reverse("admin:tenants_tenant_change", args=[tenant_a.pk]),
        {
            "name": tenant_a.name,
            "retention_days": tenant_a.retention_days,
            "invitation_expiry_days": tenant_a.invitation_expiry_days,
            "allowed_admin_networks": "[]",
            "require_two_factor": "on",
            "branding": "{}",
            "video_enabled": "on",
            "default_model": "gpt-realtime",
            "default_voice": "marin",
            "default_language": "en",
        },
    )
    assert response.status_code == 302
    with rls.bypass_context():
        tenant_a.refresh_from_db()
    assert tenant_a.require_two_factor
    # The owner, who has no two-factor yet, is sent to set it up like everyone else.
    assert owner.get("/admin/")["Location"] == TWO_FACTOR


def test_operators_are_not_held_to_a_tenants_requirement(tenant_a, operator_client):
    require_two_factor(tenant_a)
    assert operator_client.get("/admin/").status_code == 200


# --- The wall around the secrets ------------------------------------------------------------


def test_each_user_sees_only_their_own_authenticators(member, tenant_a):
    other = MembershipFactory(tenant=tenant_a, user__is_staff=True).user
    enrol(member)
    enrol(other)
    assert Authenticator.objects.count() == 0  # no context: nothing
    with rls.user_context(member.pk):
        assert set(Authenticator.objects.values_list("user_id", flat=True)) == {member.pk}
    with rls.tenant_context(tenant_a.pk):  # a colleague's console sees none of them
        assert Authenticator.objects.count() == 0
    with rls.identity_lookup_context():  # nor does signing in, which sees every account
        assert Authenticator.objects.count() == 0
    with rls.user_context(member.pk):  # nor can one write a row for someone else
        from django.db import DatabaseError, transaction

        with pytest.raises(DatabaseError), transaction.atomic():
            Authenticator.objects.create(user=other, type="webauthn", data={})


def test_an_operators_user_can_enrol_too():
    operator = UserFactory(is_staff=True, is_superuser=True)
    secret, codes = enrol(operator)
    assert len(codes) == 10 and authenticators(operator) == {"totp", "recovery_codes"}
    client = Client()
    password_step(client, operator)
    assert not is_signed_in(client)
    assert client.post(CODE_STEP, {"code": code_for(secret)}).status_code == 302


def test_nobody_reads_two_factor_secrets_in_the_console(member, operator_client):
    enrol(member)
    assert operator_client.get("/admin/mfa/authenticator/").status_code == 404
    page = operator_client.get(f"/admin/auth/user/{member.pk}/change/").content.decode()
    with rls.bypass_context():
        secret = Authenticator.objects.get(user=member, type="totp").data["secret"]
    assert secret not in page


def test_an_operator_resets_a_lost_two_factor_with_a_command(member, tenant_a):
    from io import StringIO

    from django.core.management import call_command

    enrol(member)
    out = StringIO()
    call_command("two_factor_reset", member.username, stdout=out)
    assert "removed" in out.getvalue()
    assert authenticators(member) == set()
    [event] = events("two_factor.reset")
    assert event.tenant_id == tenant_a.pk and event.target_id == str(member.pk)
    client = Client()
    assert password_step(client, member)["Location"] == "/admin/interviews/candidate/"
    call_command("two_factor_reset", member.username, stdout=out)
    assert "had no two-factor" in out.getvalue()


# --- Per browser session ----------------------------------------------------------------------


def test_a_session_signed_in_before_two_factor_was_set_up_must_sign_in_again(member):
    before = Client()
    before.force_login(member)  # the password alone, while the account had no second factor
    assert before.get("/admin/").status_code == 200
    enrol(member)  # from another browser

    response = before.get("/admin/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert before.get("/admin/").status_code == 302  # signed out, not just turned away
    assert signed_in(member).get("/admin/").status_code == 200


def test_a_session_verified_against_a_removed_authenticator_must_sign_in_again(member):
    enrol(member)
    earlier = signed_in(member)
    assert earlier.get("/admin/").status_code == 200
    with rls.bypass_context():
        services.two_factor_reset(user=member, actor_label="test")
    enrol(member)  # a new phone

    assert earlier.get("/admin/").status_code == 302
    assert signed_in(member).get("/admin/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_wrong_codes_sent_at_once_cannot_pass_the_limit(member, monkeypatch, settings):
    # Checking the limit before the code and counting after a failure let every guess sent
    # in parallel through; each attempt is now counted before its code is checked.
    settings.CONSOLE_TWO_FACTOR_FAILURES_PER_ACCOUNT = "5/15m"
    enrol(member)
    real = TOTP.validate_code

    def slow(self, code):
        time.sleep(0.3)
        return real(self, code)

    monkeypatch.setattr(TOTP, "validate_code", slow)
    results = []

    def guess(n):
        try:
            services.two_factor_verify(None, user=member, code=str(100000 + n))
        except services.TwoFactorThrottled:
            results.append("throttled")
        except ValidationError:
            results.append("wrong")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["throttled"] * 7 + ["wrong"] * 5
