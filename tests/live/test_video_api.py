"""Interview video, server side: the candidate's segment API, the provider's webhook, the
reconciliation job and the deletion of recordings - over real HTTP against the api.video fake."""

from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from core import rls
from interviews.models import SessionEvent, VideoSegment
from live.tasks import delete_video_recordings, reconcile_video_segments
from live.tokens import session_token_issue
from live.video.provider import get_video_provider
from tenants.models import AuditEvent
from tests.factories import SessionFactory, UserFactory
from tests.live.test_video_provider import upload_in_parts

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(tenant_a):
    return SessionFactory(tenant=tenant_a, candidate__user=UserFactory(), status="live")


def start_segment(session, *, token_session=None, tenant_id=None):
    token_session = token_session or session
    token = session_token_issue(
        session_id=token_session.pk,
        user_id=token_session.candidate.user_id,
        tenant_id=tenant_id or token_session.tenant_id,
    )
    return Client().post(
        f"/api/candidate/sessions/{session.pk}/video/",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        content_type="application/json",
    )


def segments_of(session):
    with rls.tenant_context(session.tenant_id):
        return list(VideoSegment.objects.filter(session=session).order_by("created_at"))


def events_of(session, prefix="video."):
    with rls.tenant_context(session.tenant_id):
        return list(
            SessionEvent.objects.filter(session=session, kind__startswith=prefix)
            .order_by("created_at")
            .values_list("kind", flat=True)
        )


def deliver(webhook, signature=None):
    return Client().post(
        "/api/video/webhooks/",
        data=webhook.body,
        content_type="application/json",
        HTTP_X_API_VIDEO_SIGNATURE=webhook.signature if signature is None else signature,
    )


def recorded(session, apivideo, parts=(b"a" * 100, b"b" * 100, b"c" * 10)):
    """A segment of ``session`` whose browser uploaded ``parts``; returns its video id."""
    body = start_segment(session).json()
    upload_in_parts(body["upload_url"], body["video_id"], list(parts))
    return body["video_id"]


# --- The segment API ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "connecting", "live"])
def test_a_session_that_may_record_gets_a_segment_and_an_upload_token(apivideo, session, status):
    with rls.bypass_context():
        type(session).objects.filter(pk=session.pk).update(status=status)
    response = start_segment(session)
    assert response.status_code == 201, response.content
    body = response.json()
    [segment] = segments_of(session)
    assert body["segment_id"] == str(segment.pk)
    assert body["video_id"] == segment.provider_video_id and body["video_id"] in apivideo.videos
    assert body["upload_url"] == f"{apivideo.base_url}/upload?token={body['upload_token']}"
    assert body["upload_token"] in apivideo.tokens and body["expires_at"]
    assert segment.status == "recording" and segment.started_at is not None
    assert events_of(session) == ["video.segment_started"]


def test_a_reconnection_gets_a_new_segment(apivideo, session):
    first = start_segment(session).json()
    second = start_segment(session).json()
    assert first["segment_id"] != second["segment_id"]
    assert first["video_id"] != second["video_id"]
    assert len(segments_of(session)) == 2


def test_an_ended_session_gets_no_segment(apivideo, session):
    with rls.bypass_context():
        type(session).objects.filter(pk=session.pk).update(status="completed")
    response = start_segment(session)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session_not_connectable"
    assert segments_of(session) == [] and apivideo.videos == {}


def test_a_tenant_that_records_no_video_gets_no_segment(apivideo, session):
    with rls.bypass_context():
        type(session.tenant).objects.filter(pk=session.tenant_id).update(video_enabled=False)
    response = start_segment(session)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "video_disabled"
    assert segments_of(session) == [] and apivideo.videos == {}


def test_another_session_or_tenant_is_a_404_and_no_token_a_401(apivideo, session, tenant_b):
    other = SessionFactory(tenant=session.tenant, candidate__user=UserFactory(), status="live")
    response = start_segment(other, token_session=session)  # this token names another session
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    theirs = SessionFactory(tenant=tenant_b, candidate__user=session.candidate.user)
    response = start_segment(theirs, token_session=theirs, tenant_id=session.tenant_id)
    assert response.status_code == 404
    assert Client().post(f"/api/candidate/sessions/{session.pk}/video/").status_code == 401
    assert segments_of(other) == [] and segments_of(theirs) == [] and apivideo.videos == {}


def test_the_provider_failing_is_a_502_and_writes_nothing(settings, session):
    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    response = start_segment(session)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "video_upstream_error"
    assert segments_of(session) == []


# --- The webhook ----------------------------------------------------------------------------


def test_a_signed_webhook_makes_the_segment_ready_once(apivideo, session):
    video_id = recorded(session, apivideo)
    first, second = apivideo.webhooks  # one per encoded quality
    response = deliver(first)
    assert response.status_code == 200 and response.json() == {"changed": True}
    [segment] = segments_of(session)
    assert segment.status == "ready" and segment.duration_seconds == 15
    assert segment.playback_url == f"{apivideo.base_url}/vod/{video_id}"
    assert segment.thumbnail_url == f"{apivideo.base_url}/vod/{video_id}/thumbnail.jpg"
    assert segment.ended_at is not None
    assert events_of(session) == ["video.segment_started", "video.segment_ready"]
    # A redelivery, and the next quality's event, change nothing.
    for webhook in (first, second, first):
        assert deliver(webhook).json() == {"changed": False}
    assert segments_of(session) == [segment]
    again = segments_of(session)[0]
    assert (again.status, again.duration_seconds, again.playback_url) == (
        "ready",
        15,
        segment.playback_url,
    )
    assert events_of(session) == ["video.segment_started", "video.segment_ready"]


@pytest.mark.parametrize("signature", ["", "0" * 64, "not hex"])
def test_a_webhook_without_a_good_signature_is_a_401_and_writes_nothing(
    apivideo, session, signature
):
    recorded(session, apivideo)
    response = deliver(apivideo.webhooks[0], signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    [segment] = segments_of(session)
    assert segment.status == "recording" and segment.playback_url == ""
    assert events_of(session) == ["video.segment_started"]


def test_a_webhook_for_a_video_we_do_not_know_is_acknowledged(apivideo, session):
    provider = get_video_provider()
    video_id = provider.create_video("not a segment")
    token = provider.upload_token(60, video_id)
    upload_in_parts(token.upload_url, video_id, [b"x"])
    response = deliver(apivideo.webhooks[0])
    assert response.status_code == 200 and response.json() == {"changed": False}


@pytest.mark.django_db(transaction=True)
def test_the_fake_delivers_its_webhooks_to_the_running_platform(apivideo, session, live_server):
    apivideo.webhook_url = f"{live_server.url}/api/video/webhooks/"
    recorded(session, apivideo)
    deadline = timezone.now() + timedelta(seconds=10)
    while timezone.now() < deadline and not all(w.delivered for w in apivideo.webhooks):
        httpx.get(f"{live_server.url}/healthz")  # give the server's thread a moment
    assert all(webhook.delivered for webhook in apivideo.webhooks)
    assert segments_of(session)[0].status == "ready"


# --- Reconciliation -------------------------------------------------------------------------


def age(segment_video_id, **delta):
    with rls.bypass_context():
        VideoSegment.objects.filter(provider_video_id=segment_video_id).update(
            created_at=timezone.now() - timedelta(**delta)
        )


def test_the_reconciliation_asks_the_provider_about_quiet_segments(apivideo, session):
    uploaded = recorded(session, apivideo)  # its webhooks never arrived
    age(uploaded, minutes=31)
    gone = start_segment(session).json()["video_id"]
    get_video_provider().delete_video(gone)
    age(gone, minutes=31)
    stuck = start_segment(session).json()["video_id"]  # nothing ever uploaded
    age(stuck, hours=25)
    waiting = start_segment(session).json()["video_id"]
    age(waiting, minutes=31)
    fresh = start_segment(session).json()["video_id"]

    assert reconcile_video_segments() == 3
    status = {segment.provider_video_id: segment.status for segment in segments_of(session)}
    assert status == {
        uploaded: "ready",
        gone: "failed",
        stuck: "failed",
        waiting: "recording",
        fresh: "recording",
    }
    assert reconcile_video_segments() == 0  # nothing more to say
    ready = next(s for s in segments_of(session) if s.provider_video_id == uploaded)
    assert ready.duration_seconds == 15 and ready.playback_url


# --- Deletion -------------------------------------------------------------------------------


def test_deletion_is_retried_until_the_provider_deletes(apivideo, session, settings):
    settings.VIDEO_DELETE_MAX_ATTEMPTS = 4
    video_id = recorded(session, apivideo)
    apivideo.fail_deletes = 2  # the first attempt fails for both ids
    delete_video_recordings(str(session.tenant_id), [video_id, "vi-already-gone"])
    assert apivideo.fail_deletes == 0
    assert video_id in apivideo.deleted and video_id not in apivideo.videos
    with rls.bypass_context():
        assert not AuditEvent.objects.filter(action="video.delete_failed").exists()


def test_a_video_that_cannot_be_deleted_is_recorded_for_the_operators(apivideo, session, settings):
    settings.VIDEO_DELETE_MAX_ATTEMPTS = 3
    video_id = recorded(session, apivideo)
    apivideo.fail_deletes = 10
    delete_video_recordings(str(session.tenant_id), [video_id])
    assert apivideo.fail_deletes == 7  # three attempts
    assert video_id in apivideo.videos
    with rls.bypass_context():
        [event] = AuditEvent.objects.filter(action="video.delete_failed")
    assert event.tenant_id == session.tenant_id
    assert event.details["video_id"] == video_id and event.details["attempts"] == 3
