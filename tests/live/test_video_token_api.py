"""Renewing a segment's upload token (the page does it before the token expires and when an
upload is refused with 401), and the segments' end times - over real HTTP against the fake."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core import rls
from interviews import services
from interviews.models import InterviewSession, VideoSegment
from live.tokens import session_token_issue
from tests.factories import SessionFactory, UserFactory
from tests.live.test_video_api import segments_of, start_segment
from tests.live.test_video_provider import upload_in_parts

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(tenant_a):
    return SessionFactory(tenant=tenant_a, candidate__user=UserFactory(), status="live")


def renew(session, segment_id, *, token_session=None, tenant_id=None):
    token_session = token_session or session
    token = session_token_issue(
        session_id=token_session.pk,
        user_id=token_session.candidate.user_id,
        tenant_id=tenant_id or token_session.tenant_id,
    )
    return Client().post(
        f"/api/candidate/sessions/{session.pk}/video/{segment_id}/token/",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        content_type="application/json",
    )


def update_session(session, **fields):
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(**fields)


def test_a_recording_segment_gets_a_fresh_token_that_uploads(apivideo, session):
    started = start_segment(session).json()
    apivideo.tokens.clear()  # the first token no longer works at the provider
    response = renew(session, started["segment_id"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"upload_token", "upload_url", "expires_at"}
    assert body["upload_token"] != started["upload_token"]
    assert body["upload_token"] in body["upload_url"] and body["expires_at"]
    upload_in_parts(body["upload_url"], started["video_id"], [b"a" * 10, b"b"])
    assert apivideo.videos[started["video_id"]].encoded


def test_the_last_parts_may_still_renew_a_few_minutes_after_the_end(apivideo, session):
    segment_id = start_segment(session).json()["segment_id"]
    update_session(session, status="completed", ended_at=timezone.now() - timedelta(minutes=4))
    assert renew(session, segment_id).status_code == 200
    update_session(session, ended_at=timezone.now() - timedelta(minutes=6))
    response = renew(session, segment_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session_not_connectable"


@pytest.mark.parametrize("status", ["uploaded", "ready", "failed"])
def test_a_segment_that_takes_no_more_parts_gets_no_token(apivideo, session, status):
    segment_id = start_segment(session).json()["segment_id"]
    with rls.bypass_context():
        VideoSegment.objects.filter(pk=segment_id).update(status=status)
    response = renew(session, segment_id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "segment_closed"


def test_another_sessions_or_tenants_segment_is_a_404(apivideo, session, tenant_b):
    segment_id = start_segment(session).json()["segment_id"]
    other = SessionFactory(tenant=session.tenant, candidate__user=UserFactory(), status="live")
    other_segment = start_segment(other).json()["segment_id"]
    tokens = len(apivideo.tokens)
    # This session's token, another session's segment (named under either session's URL).
    assert renew(session, other_segment).status_code == 404
    assert renew(other, segment_id, token_session=session).status_code == 404
    # Another tenant's session holding this tenant's token.
    theirs = SessionFactory(tenant=tenant_b, candidate__user=session.candidate.user)
    response = renew(theirs, segment_id, token_session=theirs, tenant_id=session.tenant_id)
    assert response.status_code == 404
    assert renew(session, "00000000-0000-0000-0000-000000000000").status_code == 404
    no_token = Client().post(f"/api/candidate/sessions/{session.pk}/video/{segment_id}/token/")
    assert no_token.status_code == 401
    assert len(apivideo.tokens) == tokens  # nothing was asked of the provider


def test_the_provider_failing_is_a_502(apivideo, session, settings):
    segment_id = start_segment(session).json()["segment_id"]
    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    response = renew(session, segment_id)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "video_upstream_error"


# --- When a recording ends ------------------------------------------------------------------


def test_a_new_segment_ends_the_one_before_and_the_sessions_end_ends_the_last(apivideo, session):
    start_segment(session)
    start_segment(session)  # a reconnection
    first, second = segments_of(session)
    assert first.ended_at == second.started_at and second.ended_at is None
    with rls.tenant_context(session.tenant_id):
        services.session_end(session=session, reason="candidate_ended")
        session.refresh_from_db()
    first, second = segments_of(session)
    assert second.ended_at == session.ended_at
    assert first.ended_at == second.started_at  # not moved again
    assert (first.status, second.status) == ("recording", "recording")  # still uploading
