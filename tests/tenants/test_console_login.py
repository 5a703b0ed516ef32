"""The console's sign-in: failed attempts are limited per account and per client IP, and
every sign-in, failed sign-in and sign-out is in the audit trail of the account's tenants."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from core import rls
from tenants.models import AuditEvent, Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's
LOGIN = "/admin/login/"


def sign_in(client, username, password=PASSWORD, ip="203.0.113.10"):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip
    )


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def events(action, **filters):
    with rls.bypass_context():
        return list(AuditEvent.objects.filter(action=action, **filters).order_by("created_at"))


@pytest.fixture
def member(tenant_a):
    return MembershipFactory(tenant=tenant_a, role=Role.RECRUITER).user


def test_the_right_password_signs_in(client, member):
    response = sign_in(client, member.username)
    assert response.status_code == 302 and is_signed_in(client)


def test_after_the_limit_even_the_right_password_gets_429(client, member):
    for _ in range(5):
        assert sign_in(client, member.username, "wrong").status_code == 200

    response = sign_in(client, member.username)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not is_signed_in(client)


def test_the_account_limit_holds_across_spellings(client, member):
    for _ in range(5):
        sign_in(client, f" {member.username.upper()}", "wrong")
    assert sign_in(client, member.username).status_code == 429


def test_failures_from_elsewhere_do_not_lock_the_owner_out(client, member):
    for _ in range(5):
        sign_in(Client(), member.username, "wrong", ip="192.0.2.66")
    assert sign_in(client, member.username, ip="198.51.100.1").status_code == 302


@override_settings(CONSOLE_LOGIN_FAILURES_PER_ACCOUNT_ANY_IP="8/15m")
def test_guessing_spread_over_many_addresses_is_limited_per_account(client, member):
    for n in range(8):
        sign_in(Client(), member.username, "wrong", ip=f"203.0.113.{n}")
    assert sign_in(client, member.username, ip="198.51.100.1").status_code == 429


def test_another_account_from_another_ip_is_unaffected(client, member, tenant_a):
    for _ in range(5):
        sign_in(client, member.username, "wrong")
    other = MembershipFactory(tenant=tenant_a).user

    response = sign_in(Client(), other.username, ip="198.51.100.7")

    assert response.status_code == 302


@override_settings(CONSOLE_LOGIN_FAILURES_PER_IP="3/15m")
def test_one_ip_is_limited_across_accounts(client, tenant_a):
    for n in range(3):
        sign_in(client, f"guess{n}@example.com", "wrong")
    member = MembershipFactory(tenant=tenant_a).user
    assert sign_in(client, member.username).status_code == 429
    assert sign_in(Client(), member.username, ip="198.51.100.7").status_code == 302


def test_a_success_does_not_count_as_a_failure(client, member):
    for _ in range(4):
        sign_in(client, member.username, "wrong")
    assert sign_in(client, member.username).status_code == 302
    client.post(reverse("admin:logout"))

    assert sign_in(client, member.username).status_code == 302


def test_sign_in_out_and_failures_are_in_each_of_the_members_tenants(client, member, tenant_a):
    tenant_b = TenantFactory()
    MembershipFactory(tenant=tenant_b, user=member, role=Role.VIEWER)

    sign_in(client, member.username, "wrong")
    sign_in(client, member.username)
    client.post(reverse("admin:logout"), REMOTE_ADDR="203.0.113.10")

    for action, actor in [
        ("console.login_failed", None),
        ("console.login", member),
        ("console.logout", member),
    ]:
        recorded = events(action)
        assert {event.tenant_id for event in recorded} == {tenant_a.pk, tenant_b.pk}, action
        for event in recorded:
            assert event.actor_id == (actor.pk if actor else None)
            assert event.target_id == str(member.pk)
            assert event.ip == "203.0.113.10"
            assert event.request_id
    assert events("console.login_failed")[0].actor_label == "anonymous"


def test_an_unknown_username_is_recorded_without_what_was_typed(client):
    sign_in(client, "ann.smith@example.com", "hunter2")

    [event] = events("console.login_failed")
    assert event.tenant_id is None and event.target_id == ""
    assert "ann.smith" not in repr(
        [event.actor_label, event.target_repr, event.details, event.request_id]
    )
    assert event.ip == "203.0.113.10"


def test_an_operators_sign_in_is_platform_level(client):
    operator = UserFactory(is_staff=True, is_superuser=True)
    sign_in(client, operator.username)
    [event] = events("console.login")
    assert event.tenant_id is None and event.actor_id == operator.pk


def test_a_member_sees_its_sign_ins_in_the_console(client, member, tenant_a):
    sign_in(client, member.username)
    owner = MembershipFactory(tenant=tenant_a, role=Role.OWNER).user
    owners = Client()
    owners.force_login(owner)

    page = owners.get(reverse("admin:tenants_auditevent_changelist"), {"action": "console.login"})

    assert page.status_code == 200
    assert member.username in page.content.decode()
