"""Security events in the audit trail that are not covered beside their feature: a console
user changing their password. (Sign-in, failed sign-in and sign-out: test_console_login.py,
which also shows the sign-in limit; two-factor: test_two_factor.py; network lists:
test_network_allowlists.py; operator access: test_operator_access.py; exports:
tests/interviews/test_exports.py; API clients: tests/tenant_api/; erasure: tests/privacy/.)"""

import pytest
from django.test import Client

from core import rls
from tenants.models import AuditEvent, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests.factories.UserFactory's
NEW_PASSWORD = "a much longer new passphrase 42"


def change_password(user, old=PASSWORD):
    client = Client()
    client.force_login(user)
    return client.post(
        "/admin/password_change/",
        {"old_password": old, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR="198.51.100.23",
        HTTP_X_REQUEST_ID="pw-change-1",
    )


def test_a_members_password_change_is_in_their_tenants_trail(tenant_a):
    user = MembershipFactory(tenant=tenant_a, role=Role.RECRUITER).user

    response = change_password(user)

    assert response.status_code == 302
    with rls.tenant_context(tenant_a.pk):
        event = AuditEvent.objects.get(action="account.password_changed")
    assert event.actor_id == user.pk and event.target_id == str(user.pk)
    assert (event.ip, event.request_id) == ("198.51.100.23", "pw-change-1")
    with rls.user_context(user.pk):
        user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_operators_password_change_is_a_platform_event():
    operator = UserFactory(is_staff=True, is_superuser=True)
    assert change_password(operator).status_code == 302
    with rls.bypass_context():
        event = AuditEvent.objects.get(action="account.password_changed")
    assert event.tenant_id is None and event.actor_id == operator.pk


def test_a_refused_password_change_records_nothing(tenant_a):
    user = MembershipFactory(tenant=tenant_a).user
    assert change_password(user, old="not my password").status_code == 200
    with rls.bypass_context():
        assert not AuditEvent.objects.filter(action="account.password_changed").exists()


def test_a_password_an_operator_sets_for_someone_is_recorded(tenant_a, operator_client):
    user = MembershipFactory(tenant=tenant_a).user
    response = operator_client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    with rls.tenant_context(tenant_a.pk):
        event = AuditEvent.objects.get(action="account.password_changed")
    assert event.actor_id == operator_client.user.pk and event.target_id == str(user.pk)
    assert event.details == {"by_operator": True}
