"""The session page's player in a real browser: a recording made in Chromium (MediaRecorder,
WebM), uploaded in parts to the api.video fake, plays inline on the session's page through the
console's fresh-asset redirect; a transcript line's link seeks it to that moment; a recording
the provider cannot serve says "Video unavailable right now"."""

import base64
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from live.video.provider import get_video_provider
from tenants.models import Role
from tests.browser.conftest import snap
from tests.factories import (
    MembershipFactory,
    SessionFactory,
    TranscriptEntryFactory,
    UserFactory,
    VideoSegmentFactory,
)
from tests.live.test_video_provider import upload_in_parts

pytestmark = pytest.mark.django_db(transaction=True)

RECORD = """async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 160; canvas.height = 120;
  const g = canvas.getContext("2d");
  const stream = canvas.captureStream(25);
  const recorder = new MediaRecorder(stream, { mimeType: "video/webm" });
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  let frame = 0;
  const timer = setInterval(() => { g.fillStyle = `hsl(${frame++ * 7}, 80%, 50%)`;
                                    g.fillRect(0, 0, 160, 120); }, 40);
  recorder.start();
  await new Promise((r) => setTimeout(r, 3000));
  await new Promise((r) => { recorder.onstop = r; recorder.stop(); });
  clearInterval(timer);
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let s = ""; for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}"""


def signed_in(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context, context.new_page()


def test_a_recording_plays_and_a_transcript_line_seeks_it(browser, live_server, apivideo, tenant_a):
    viewer = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant_a, user=viewer, role=Role.VIEWER)
    context, page = signed_in(browser, live_server, viewer)
    try:
        page.goto(f"{live_server.url}/admin/")
        webm = base64.b64decode(page.evaluate(RECORD))
        provider = get_video_provider()
        video_id = provider.create_video("interview browser")
        token = provider.upload_token(600, video_id)
        third = len(webm) // 3
        upload_in_parts(
            token.upload_url, video_id, [webm[:third], webm[third : 2 * third], webm[2 * third :]]
        )
        started = timezone.now() - timedelta(minutes=5)
        session = SessionFactory(tenant=tenant_a, status="completed", started_at=started)
        segment = VideoSegmentFactory(
            session=session,
            provider_video_id=video_id,
            status="ready",
            started_at=started,
            duration_seconds=3,
        )
        TranscriptEntryFactory(session=session, started_ms=1_500, ended_ms=2_500)
        missing = VideoSegmentFactory(
            session=session,
            provider_video_id="vi0000000000notthere",
            status="ready",
            started_at=started - timedelta(minutes=1),  # before: the line is not its
            duration_seconds=60,
        )

        page.goto(f"{live_server.url}/admin/interviews/interviewsession/{session.pk}/change/")
        player = page.locator(f'video[data-segment="{segment.pk}"]')
        page.wait_for_function(
            "(v) => v.readyState >= 1 && v.duration > 0", arg=player.element_handle()
        )
        assert page.locator(f'video[data-segment="{missing.pk}"] + .video-unavailable').is_visible()
        player.evaluate(
            "(v) => { window.seekedTo = null;"
            " v.addEventListener('seeked', () => { window.seekedTo = v.currentTime; },"
            " { once: true }); }"
        )
        page.locator("a.video-seek").first.click()
        page.wait_for_function("() => window.seekedTo !== null", timeout=10_000)
        assert 1.4 <= page.evaluate("window.seekedTo") <= 1.6
        snap(page, "console-video-player")
    finally:
        context.close()
