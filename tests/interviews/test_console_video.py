"""Recordings on the session's page in the console: each ready segment plays inline from a
console view that redirects to a fresh asset at the provider (the api.video fake, over real
HTTP), a transcript line links to its moment, viewers may watch, nobody of another tenant can,
and an unreachable provider leaves the page standing with "Video unavailable right now"."""

import re
from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core import rls
from live.video.provider import get_video_provider
from tenants.models import Role
from tests.conftest import console_client
from tests.factories import SessionFactory, TranscriptEntryFactory, VideoSegmentFactory
from tests.live.test_video_provider import upload_in_parts

pytestmark = pytest.mark.django_db

BYTES = [b"a" * 100, b"b" * 100, b"c" * 10]


def page_url(session):
    return reverse("admin:interviews_interviewsession_change", args=[session.pk])


def play_url(session, segment):
    return reverse("admin:interviews_interviewsession_video_play", args=[session.pk, segment.pk])


def uploaded_video() -> str:
    """A video at the provider whose whole recording was uploaded: playable."""
    provider = get_video_provider()
    video_id = provider.create_video("interview test")
    token = provider.upload_token(600, video_id)
    upload_in_parts(token.upload_url, video_id, BYTES)
    return video_id


@pytest.fixture
def interview(tenant_a):
    started = timezone.now() - timedelta(minutes=30)
    return SessionFactory(tenant=tenant_a, status="completed", started_at=started)


def ready_segment(session, video_id="vi-missing", *, after=timedelta(seconds=5), seconds=600):
    return VideoSegmentFactory(
        session=session,
        provider_video_id=video_id,
        status="ready",
        started_at=session.started_at + after,
        duration_seconds=seconds,
        playback_url=f"https://example.invalid/vod/{video_id}",
    )


def test_a_viewer_plays_a_ready_recording_from_a_fresh_asset(apivideo, interview, tenant_a):
    segment = ready_segment(interview, uploaded_video(), after=timedelta(seconds=65))
    VideoSegmentFactory(session=interview, status="recording", started_at=timezone.now())
    viewer = console_client(tenant_a, Role.VIEWER)

    html = viewer.get(page_url(interview)).content.decode()
    players = re.findall(r"<video [^>]*>", html)
    assert len(players) == 1  # the one still recording has no player
    assert f'src="{play_url(interview, segment)}"' in players[0]
    assert f'data-segment="{segment.pk}"' in players[0]
    assert 'aria-label="Recording from +01:05 into the interview"' in players[0]
    assert segment.playback_url not in html  # no provider URL in the page
    assert 'id="video"' in html and "js/console/session-video.js" in html
    assert "<script>" not in html  # no inline script

    response = viewer.get(play_url(interview, segment))
    assert response.status_code == 302
    assert response["Location"] == f"{apivideo.base_url}/vod/{segment.provider_video_id}/mp4"
    assert "no-store" in response["Cache-Control"]
    assert httpx.get(response["Location"]).content == b"".join(BYTES)


def test_a_transcript_line_links_to_its_moment_in_its_recording(interview, recruiter_client):
    start = interview.started_at
    first = ready_segment(interview, "vi-first", after=timedelta(seconds=5), seconds=120)
    second = ready_segment(interview, "vi-second", after=timedelta(minutes=5), seconds=600)
    lines = [
        # Before any recording: nothing to watch.
        TranscriptEntryFactory(session=interview, speaker="ai"),
        # Candidate speech: where the provider says it is in the call's audio.
        TranscriptEntryFactory(session=interview, started_ms=29_300, ended_ms=35_000),
        # The interviewer's line: when its text arrived, into the recording it arrived in.
        TranscriptEntryFactory(session=interview, speaker="ai"),
        # After the reconnection: the second recording, from its own call's audio.
        TranscriptEntryFactory(session=interview, started_ms=4_000),
    ]
    arrived = [
        start + timedelta(seconds=2),
        start + timedelta(seconds=40),
        start + timedelta(seconds=75),
        start + timedelta(minutes=5, seconds=10),
    ]
    with rls.bypass_context():
        for line, at in zip(lines, arrived, strict=True):
            type(line).objects.filter(pk=line.pk).update(created_at=at)

    html = recruiter_client.get(page_url(interview)).content.decode()
    assert "<th>Source</th><th>Video</th>" in html
    links = re.findall(
        r'<a href="#video" class="video-seek" data-segment="([^"]+)" data-at="([^"]+)"', html
    )
    assert links == [(str(first.pk), "29.3"), (str(first.pk), "70.0"), (str(second.pk), "4.0")]


def test_another_tenants_member_gets_404_and_anonymous_the_login(apivideo, interview, tenant_b):
    segment = ready_segment(interview, uploaded_video())
    outsider = console_client(tenant_b, Role.OWNER)
    assert outsider.get(page_url(interview)).status_code == 404
    assert outsider.get(play_url(interview, segment)).status_code == 404
    for url in (page_url(interview), play_url(interview, segment)):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_recording_that_is_not_ready_or_not_this_sessions_is_a_404(
    apivideo, interview, tenant_a, recruiter_client
):
    recording = VideoSegmentFactory(session=interview, status="recording")
    other = ready_segment(SessionFactory(tenant=tenant_a, started_at=timezone.now()))
    assert recruiter_client.get(play_url(interview, recording)).status_code == 404
    assert recruiter_client.get(play_url(interview, other)).status_code == 404


def test_an_unreachable_provider_leaves_the_page_standing(settings, interview, recruiter_client):
    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:9"  # nothing listens: refused at once
    settings.APIVIDEO_API_KEY = "test-key"
    segment = ready_segment(interview, "vi-somewhere")
    page = recruiter_client.get(page_url(interview))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'src="{play_url(interview, segment)}"' in html
    assert "Video unavailable right now" in html  # shown by the player when it cannot load

    response = recruiter_client.get(play_url(interview, segment))
    assert response.status_code == 503
    assert response.content.decode().startswith("Video unavailable right now")
    assert response["Retry-After"] == "30"


def test_a_video_gone_at_the_provider_is_unavailable_not_an_error(
    apivideo, interview, recruiter_client
):
    segment = ready_segment(interview, "vi0000000000notthere")
    assert recruiter_client.get(play_url(interview, segment)).status_code == 503


def test_an_operator_watching_a_recording_is_in_the_tenants_audit_trail(
    apivideo, interview, tenant_a, operator_client
):
    from tenants.models import AuditEvent

    segment = ready_segment(interview, uploaded_video())
    assert operator_client.get(play_url(interview, segment)).status_code == 302
    with rls.tenant_context(tenant_a.pk):
        viewed = AuditEvent.objects.filter(
            action="operator.viewed", target_id=str(interview.pk), details__page="video"
        )
        assert viewed.count() == 1


def test_the_page_says_why_video_is_missing_and_that_it_was_required(interview, tenant_a):
    with rls.bypass_context():
        type(interview.template).objects.filter(pk=interview.template_id).update(
            video_required=True
        )
        interview.events.create(
            tenant=tenant_a, kind="video.unavailable", data={"reason": "camera_denied"}
        )
        interview.events.create(
            tenant=tenant_a, kind="video.upload_failed", data={"reason": "upload_http_503"}
        )
    html = console_client(tenant_a, Role.VIEWER).get(page_url(interview)).content.decode()
    assert "This interview required video, and no recording of it can be played." in html
    assert "Not recorded: the candidate did not allow the camera" in html
    assert "Upload stopped: the video service answered 503" in html


def test_nothing_is_said_when_the_recording_plays(apivideo, interview, tenant_a):
    with rls.bypass_context():
        type(interview.template).objects.filter(pk=interview.template_id).update(
            video_required=True
        )
    ready_segment(interview, uploaded_video())
    html = console_client(tenant_a, Role.VIEWER).get(page_url(interview)).content.decode()
    assert "video-notes" not in html
