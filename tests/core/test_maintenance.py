"""Maintenance mode: switched by `manage.py maintenance`, it closes the way to a new interview
(candidate pages, the interview page and the candidate API's start for sessions not yet under
way) with a 503, Retry-After and the operator's message; live interviews, the console,
/healthz and the audit trail go on, and /readyz says so."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from core import rls
from core.maintenance import DEFAULT_MESSAGE, maintenance_current
from interviews.models import InterviewSession, SessionStatus
from tenants.models import AuditEvent
from tests.factories import InvitationFactory, SessionFactory, UserFactory
from tests.support.candidate import session_api

pytestmark = pytest.mark.django_db

MESSAGE = "Upgrading the database; back by 14:00 UTC."


def maintenance(*args) -> str:
    out = io.StringIO()
    call_command("maintenance", *args, stdout=out)
    return out.getvalue()


def assert_maintenance_page(response, text=MESSAGE, retry_after="600"):
    assert response.status_code == 503
    assert response["Retry-After"] == retry_after
    assert text in response.content.decode()


def test_the_command_switches_it_on_and_off_and_the_audit_trail_records_both():
    assert "is off" in maintenance("status")
    out = maintenance("on", "--message", MESSAGE, "--retry-after", "600")
    assert "is on" in out and MESSAGE in out
    current = maintenance_current()
    assert current.message == MESSAGE and current.retry_after_seconds == 600
    assert "is off" in maintenance("off")
    assert maintenance_current() is None
    with rls.bypass_context():
        actions = list(
            AuditEvent.objects.filter(action__startswith="platform.maintenance")
            .order_by("created_at")
            .values_list("action", "tenant_id", "actor_label")
        )
    assert [a for a, _, _ in actions] == ["platform.maintenance_on", "platform.maintenance_off"]
    assert all(tenant is None and label.startswith("manage.py") for _, tenant, label in actions)


def test_the_command_refuses_bad_values_and_changes_nothing():
    with pytest.raises(CommandError, match="between 1 and 86400"):
        maintenance("on", "--retry-after", "0")
    with pytest.raises(CommandError, match="500 characters"):
        maintenance("on", "--message", "x" * 501)
    assert maintenance_current() is None


def test_without_a_message_candidates_read_a_friendly_default(client, tenant_a):
    InvitationFactory(tenant=tenant_a, token="m" * 43)
    maintenance("on")
    assert_maintenance_page(client.get("/i/" + "m" * 43), DEFAULT_MESSAGE, "900")


def test_every_candidate_page_before_the_interview_answers_503_until_it_is_off(client, tenant_a):
    InvitationFactory(tenant=tenant_a, token="m" * 43)
    maintenance("on", "--message", MESSAGE, "--retry-after", "600")
    for path in (
        "/i/" + "m" * 43,
        "/interview/consent/",
        "/interview/accommodation/",
        "/interview/sign-in/",
        "/interview/device-check/",
    ):
        assert_maintenance_page(client.get(path))
    assert_maintenance_page(client.post("/interview/start/"))
    maintenance("off")
    assert client.get("/i/" + "m" * 43).status_code == 200


def test_an_interview_not_yet_started_waits_but_a_live_one_carries_on(tenant_a):
    user = UserFactory(email="ada@example.com")
    pending = SessionFactory(tenant=tenant_a, candidate__user=user)
    live = SessionFactory(tenant=tenant_a, candidate__user=user)
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=live.pk).update(status=SessionStatus.LIVE)
    page = Client()
    page.force_login(user)
    maintenance("on", "--message", MESSAGE, "--retry-after", "600")

    assert_maintenance_page(page.get(f"/interview/session/{pending.pk}/"))
    refused = session_api(pending, "start")
    assert refused.status_code == 503 and refused["Retry-After"] == "600"
    assert refused.json()["error"] == {"code": "maintenance", "message": MESSAGE}

    assert page.get(f"/interview/session/{live.pk}/").status_code == 200
    assert session_api(live, "start").status_code == 200
    heartbeat = session_api(live, "heartbeat", {"connection_state": "connected"})
    assert heartbeat.status_code == 200 and heartbeat.json()["status"] == "live"
    transcript = session_api(
        live,
        "transcript",
        {"entries": [{"speaker": "candidate", "text": "Hello", "item_id": "item_1"}]},
    )
    assert transcript.status_code == 200, transcript.content
    assert session_api(live, "end").status_code == 200

    maintenance("off")
    assert session_api(pending, "start").status_code == 200


def test_the_console_stays_usable_for_operators(operator_client, recruiter_client):
    maintenance("on", "--message", MESSAGE)
    assert operator_client.get("/admin/").status_code == 200
    assert operator_client.get("/admin/interviews/interviewsession/").status_code == 200
    assert recruiter_client.get("/admin/").status_code == 200


def test_healthz_stays_green_and_readyz_says_maintenance(client):
    maintenance("on", "--message", MESSAGE, "--retry-after", "600")
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "maintenance"
    assert body["maintenance"]["retry_after_seconds"] == 600 and body["maintenance"]["since"]
    maintenance("off")
    body = client.get("/readyz").json()
    assert body["status"] == "ok" and "maintenance" not in body
