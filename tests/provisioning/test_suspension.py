"""What a suspension does: the console, the candidate pages and the candidate API refuse the
tenant's people with a clear answer, a live interview carries on, the tenant API answers 403;
resuming restores everything."""

import pytest

from core import rls
from interviews.models import InterviewSession, SessionStatus
from tenants.models import Role
from tenants.services import tenant_resume, tenant_suspend
from tests.conftest import console_client
from tests.factories import InvitationFactory, SessionFactory, UserFactory
from tests.support.candidate import session_api
from tests.tenant_api.support import make_client

pytestmark = pytest.mark.django_db


def suspend(tenant):
    with rls.bypass_context():
        return tenant_suspend(tenant=tenant, actor=None, reason="test")


def resume(tenant):
    with rls.bypass_context():
        return tenant_resume(tenant=tenant, actor=None)


def test_the_console_shows_members_a_suspended_page_until_resumed(tenant_a):
    client = console_client(tenant_a, Role.RECRUITER)
    suspend(tenant_a)
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "account is suspended" in response.content.decode()
    assert client.post("/admin/logout/").status_code in {200, 302}  # signing out still works
    client = console_client(tenant_a, Role.RECRUITER)
    resume(tenant_a)
    assert client.get("/admin/").status_code == 200


def test_members_of_another_active_tenant_work_there(tenant_a, tenant_b):
    client = console_client(tenant_a, Role.RECRUITER)
    from tests.factories import MembershipFactory

    MembershipFactory(tenant=tenant_b, user=client.user, role=Role.RECRUITER)
    suspend(tenant_a)
    response = client.get("/admin/")
    assert response.status_code == 200 and response.wsgi_request.tenant == tenant_b


def test_the_invitation_page_says_the_company_is_suspended(client, tenant_a):
    InvitationFactory(tenant=tenant_a, token="s" * 43)
    suspend(tenant_a)
    response = client.get("/i/" + "s" * 43)
    assert response.status_code == 403
    assert "suspended" in response.content.decode()
    resume(tenant_a)
    assert client.get("/i/" + "s" * 43).status_code == 200


def test_a_pending_session_cannot_start_but_a_live_one_carries_on(tenant_a):
    user = UserFactory(email="ada@example.com")
    pending = SessionFactory(tenant=tenant_a, candidate__user=user)
    live = SessionFactory(tenant=tenant_a, candidate__user=user)
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=live.pk).update(status=SessionStatus.LIVE)
    suspend(tenant_a)

    refused = session_api(pending, "start")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "tenant_suspended"

    assert session_api(live, "start").status_code == 200
    heartbeat = session_api(live, "heartbeat", {"connection_state": "connected"})
    assert heartbeat.status_code == 200 and heartbeat.json()["status"] == "live"
    transcript = session_api(
        live,
        "transcript",
        {"entries": [{"speaker": "candidate", "text": "Hello", "item_id": "item_1"}]},
    )
    assert transcript.status_code == 200, transcript.content

    resume(tenant_a)
    assert session_api(pending, "start").status_code == 200


def test_the_tenant_api_refuses_a_suspended_tenant(tenant_a):
    caller = make_client(tenant_a).authorize()
    suspend(tenant_a)
    response = caller.call("GET", "candidates/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_suspended"
    resume(tenant_a)
    assert caller.call("GET", "candidates/").status_code == 200
