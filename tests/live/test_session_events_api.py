"""The page's own timeline notes: why video is missing (``POST .../events/``)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core import rls
from interviews.models import SessionEvent
from live.api.sessions import CLIENT_EVENT_GROUPS, CLIENT_EVENT_KINDS, MAX_CLIENT_EVENTS
from live.tokens import session_token_issue
from tests.factories import SessionFactory, UserFactory
from tests.live.test_session_api import api, set_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(tenant_a):
    user = UserFactory(email="ada@example.com")
    return SessionFactory(tenant=tenant_a, candidate__user=user)


def events_of(session):
    with rls.tenant_context(session.tenant_id):
        return list(
            SessionEvent.objects.filter(session=session)
            .order_by("created_at")
            .values_list("kind", "data")
        )


def test_the_page_records_why_video_is_missing(session):
    response = api(session, "events", {"kind": "video.unavailable", "reason": "camera_denied"})
    assert response.status_code == 200 and response.json() == {"recorded": True}
    segment = "6f1c1d2e-0000-4000-8000-000000000001"
    api(
        session,
        "events",
        {"kind": "video.upload_failed", "reason": "upload_http_500", "segment_id": segment},
    )
    assert events_of(session) == [
        ("video.unavailable", {"reason": "camera_denied", "via": "page"}),
        (
            "video.upload_failed",
            {"reason": "upload_http_500", "via": "page", "segment_id": segment},
        ),
    ]


def test_a_delayed_upload_and_its_recovery_are_on_the_timeline(session):
    segment = "6f1c1d2e-0000-4000-8000-000000000002"
    for kind, reason in (
        ("video.upload_delayed", "upload_network"),
        ("video.upload_resumed", "part_3"),
    ):
        body = {"kind": kind, "reason": reason, "segment_id": segment}
        assert api(session, "events", body).status_code == 200
    assert [kind for kind, _ in events_of(session)] == [
        "video.upload_delayed",
        "video.upload_resumed",
    ]


def test_a_note_on_an_interview_that_requires_video_says_so(session):
    with rls.bypass_context():
        type(session.template).objects.filter(pk=session.template_id).update(video_required=True)
    api(session, "events", {"kind": "video.unavailable", "reason": "camera_denied"})
    assert events_of(session) == [
        ("video.unavailable", {"reason": "camera_denied", "via": "page", "video_required": True})
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "session.ended", "reason": "x"},  # not a kind the page may write
        {"kind": "video.unavailable", "reason": ""},
        {"kind": "video.unavailable", "reason": "has spaces and <html>"},
        {"kind": "video.unavailable", "reason": "x" * 65},
        {"kind": "video.unavailable"},
    ],
)
def test_other_kinds_and_long_or_odd_reasons_are_refused(session, body):
    response = api(session, "events", body)
    assert response.status_code == 400
    assert events_of(session) == []


def test_the_events_a_page_may_write_are_capped(session):
    for _ in range(MAX_CLIENT_EVENTS):
        api(session, "events", {"kind": "video.upload_failed", "reason": "network"})
    response = api(session, "events", {"kind": "video.upload_failed", "reason": "network"})
    assert response.status_code == 200 and response.json() == {"recorded": False}
    assert len(events_of(session)) == MAX_CLIENT_EVENTS


def test_a_flapping_upload_never_uses_up_the_room_for_why_video_is_missing(session):
    assert sorted(k for g in CLIENT_EVENT_GROUPS for k in g) == sorted(CLIENT_EVENT_KINDS)
    for n in range(MAX_CLIENT_EVENTS):
        kind = "video.upload_delayed" if n % 2 == 0 else "video.upload_resumed"
        api(session, "events", {"kind": kind, "reason": "upload_network"})
    response = api(session, "events", {"kind": "video.upload_failed", "reason": "upload_network"})
    assert response.json() == {"recorded": True}


def test_a_session_ended_long_ago_takes_no_more_events(session):
    set_status(session, status="completed", ended_at=timezone.now() - timedelta(minutes=1))
    assert api(session, "events", {"kind": "video.upload_failed", "reason": "x"}).status_code == 200
    set_status(session, ended_at=timezone.now() - timedelta(minutes=10))
    response = api(session, "events", {"kind": "video.upload_failed", "reason": "x"})
    assert response.status_code == 409


def test_a_token_for_one_session_writes_nothing_on_another(session, tenant_b):
    other = SessionFactory(tenant=tenant_b)
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    response = Client().post(
        f"/api/candidate/sessions/{other.pk}/events/",
        {"kind": "video.unavailable", "reason": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code in (403, 404)
    with rls.bypass_context():
        assert not SessionEvent.objects.filter(session=other).exists()
