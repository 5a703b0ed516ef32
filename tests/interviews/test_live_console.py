"""The console's live pages: "Live now" lists the reader's interviews in progress, the
session page carries the live panel."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tenants.models import Role
from tests.conftest import console_client
from tests.factories import CandidateFactory, SessionFactory

pytestmark = pytest.mark.django_db

LIVE_NOW = "admin:interviews_interviewsession_live"


@pytest.fixture
def sessions(tenant_a, tenant_b):
    return {
        "a_live": SessionFactory(
            tenant=tenant_a,
            status="live",
            started_at=timezone.now(),
            connecting_at=timezone.now(),
            candidate=CandidateFactory(tenant=tenant_a, full_name="Ada Live"),
        ),
        "a_connecting": SessionFactory(
            tenant=tenant_a,
            status="connecting",
            connecting_at=timezone.now(),
            candidate=CandidateFactory(tenant=tenant_a, full_name="Cleo Connecting"),
        ),
        "a_done": SessionFactory(
            tenant=tenant_a,
            status="completed",
            candidate=CandidateFactory(tenant=tenant_a, full_name="Dora Done"),
        ),
        "b_live": SessionFactory(
            tenant=tenant_b,
            status="live",
            started_at=timezone.now(),
            candidate=CandidateFactory(tenant=tenant_b, full_name="Bea Other"),
        ),
    }


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RECRUITER, Role.OWNER])
def test_live_now_lists_the_tenants_interviews_in_progress(tenant_a, sessions, role):
    client = console_client(tenant_a, role)
    page = client.get(reverse(LIVE_NOW)).content.decode()
    assert "Ada Live" in page and "Cleo Connecting" in page
    assert "Dora Done" not in page and "Bea Other" not in page
    assert 'data-socket="/ws/live/"' in page
    rows = client.get(reverse(LIVE_NOW), {"fragment": "rows"}).content.decode()
    assert "<html" not in rows and "Ada Live" in rows
    changelist = client.get(reverse("admin:interviews_interviewsession_changelist"))
    assert "Live now (2)" in changelist.content.decode()


def test_an_operator_sees_every_tenants_interviews_in_progress(operator_client, sessions):
    page = operator_client.get(reverse(LIVE_NOW)).content.decode()
    assert "Ada Live" in page and "Bea Other" in page
    assert 'data-socket=""' in page  # no tenant socket: the page polls


def test_signed_out_visitors_are_sent_to_sign_in(client, sessions):
    response = client.get(reverse(LIVE_NOW))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_session_page_carries_the_live_panel(tenant_a, sessions):
    client = console_client(tenant_a, Role.VIEWER)
    session = sessions["a_live"]
    page = client.get(
        reverse("admin:interviews_interviewsession_change", args=[session.pk])
    ).content.decode()
    assert f'data-socket="/ws/sessions/{session.pk}/live/"' in page
    assert 'aria-live="polite"' in page and "live-session.js" in page
    other = client.get(
        reverse("admin:interviews_interviewsession_change", args=[sessions["b_live"].pk])
    )
    assert other.status_code in (302, 404)


def test_an_ended_interviews_page_has_no_live_panel(tenant_a, sessions):
    client = console_client(tenant_a, Role.VIEWER)
    page = client.get(
        reverse("admin:interviews_interviewsession_change", args=[sessions["a_done"].pk])
    ).content.decode()
    assert 'id="live-panel"' not in page and "live-session.js" not in page
