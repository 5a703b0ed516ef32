"""The interview page records the candidate's (fake) camera and uploads it to the api.video
fake in parts while a simulator interview runs; the segment becomes ready through the fake's
signed webhook to the running platform. A failing upload never stops the interview."""

import dataclasses
import time

import httpx
import pytest
from django.conf import settings

from core import rls
from interviews.models import InterviewSession, SessionEvent, VideoSegment
from tests.browser.conftest import snap
from tests.browser.test_interview_browser import KEY, simulated_provider
from tests.browser.test_onboarding_browser import invite, walk_onboarding
from tests.factories import QuestionFactory
from tests.support.realtime import FAST

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def realtime(settings):
    with simulated_provider(settings):
        yield


@pytest.fixture
def slow_realtime(settings):
    """An interviewer that takes its time, so that the interview outlasts an upload's retries."""
    with simulated_provider(
        settings,
        dataclasses.replace(FAST, seconds_per_word=0.4, max_speech=4, generation_ratio=1.0),
    ):
        yield


@pytest.fixture
def video(apivideo, live_server, settings):
    """The fake api.video, its webhooks sent to the live server; short timeslices and any part
    size, so that a short simulator interview is uploaded in several parts."""
    apivideo.webhook_url = f"{live_server.url}/api/video/webhooks/"
    settings.VIDEO_TIMESLICE_MS = 1000
    settings.VIDEO_UPLOAD_PART_BYTES = 1
    return apivideo


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def segments():
    with rls.bypass_context():
        return list(VideoSegment.objects.order_by("created_at"))


QUESTIONS = ("Why this role?", "A bug you fixed?", "Your best team?")


def interview(live_server, page, tenant, questions=2, **template_fields):
    template, token = invite(tenant, **template_fields)
    for position, text in enumerate(QUESTIONS[:questions], start=1):
        QuestionFactory(template=template, tenant=tenant, position=position, text=text)
    walk_onboarding(page, live_server, token)


def test_the_interview_is_recorded_uploaded_in_parts_and_becomes_ready(
    live_server, page, tenant_a, realtime, video
):
    interview(live_server, page, tenant_a)
    indicator = page.locator("#recording")
    indicator.and_(page.locator("[data-state='on']")).wait_for(timeout=20000)
    assert "Recording video" in indicator.inner_text()
    # Always in view on a phone (390 px wide), also with the page scrolled to its end.
    page.mouse.wheel(0, 5000)
    box = indicator.bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= 844 and box["width"] <= 390
    assert page.locator("#self-view").evaluate("v => v.srcObject !== null && !v.paused")
    snap(page, "interview-recording")
    page.wait_for_url("**/done/", timeout=60000)

    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
    assert (session.status, session.end_reason) == ("completed", "interview_complete")
    assert wait_until(lambda: all(s.status == "ready" for s in segments()), 20)
    [segment] = segments()
    fake = video.videos[segment.provider_video_id]
    assert fake.encoded and fake.last_part > 1  # uploaded in several parts
    assert segment.session_id == session.pk
    assert segment.duration_seconds and segment.duration_seconds > 0
    assert segment.playback_url
    with rls.tenant_context(tenant_a.pk):
        kinds = list(SessionEvent.objects.filter(session=session).values_list("kind", flat=True))
    assert "video.segment_ready" in kinds
    assert "video.upload_failed" not in kinds and "video.unavailable" not in kinds


def video_notes(session):
    with rls.tenant_context(session.tenant_id):
        return list(
            SessionEvent.objects.filter(session=session, kind__startswith="video.upload_")
            .order_by("created_at")
            .values_list("kind", "data")
        )


def test_an_upload_failing_mid_interview_leaves_the_interview_going(
    live_server, page, tenant_a, slow_realtime, video
):
    interview(live_server, page, tenant_a)
    # A part went up; from now on the upload endpoint fails.
    assert wait_until(lambda: any(v.parts for v in video.videos.values()), 20)
    video.fail_uploads = 10**6
    page.locator("#recording[data-state='delayed']").wait_for(timeout=20000)
    assert "upload delayed" in page.locator("#recording").inner_text()
    assert page.url.endswith("/interview/session/" + str(segments()[0].session_id) + "/")
    snap(page, "interview-recording-delayed")
    page.wait_for_url("**/done/", timeout=90000)

    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
    assert (session.status, session.end_reason) == ("completed", "interview_complete")
    [segment] = segments()
    # The part was kept and tried again until the page closed; then the timeline heard why.
    note = {"reason": "upload_http_500", "via": "page", "segment_id": str(segment.pk)}
    assert video_notes(session) == [
        ("video.upload_delayed", note),
        ("video.upload_failed", note),
    ]
    assert segment.status == "recording"  # never completed; the reconciliation will say failed


def test_a_part_that_failed_is_kept_and_goes_up_when_the_provider_is_back(
    live_server, page, tenant_a, slow_realtime, video
):
    interview(live_server, page, tenant_a)
    assert wait_until(lambda: any(v.parts for v in video.videos.values()), 20)
    video.fail_uploads = 3  # the first try and both quick retries of the next part
    page.locator("#recording[data-state='delayed']").wait_for(timeout=20000)
    page.locator("#recording[data-state='on']").wait_for(timeout=20000)
    page.wait_for_url("**/done/", timeout=90000)

    assert wait_until(lambda: all(s.status == "ready" for s in segments()), 20)
    [segment] = segments()
    fake = video.videos[segment.provider_video_id]
    assert fake.encoded and set(fake.parts) == set(range(1, fake.last_part + 1))
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
    assert [kind for kind, _ in video_notes(session)] == [
        "video.upload_delayed",
        "video.upload_resumed",
    ]


def test_the_upload_token_is_renewed_before_it_expires_and_when_refused(
    live_server, page, tenant_a, slow_realtime, video, settings
):
    # Tokens valid for 65 s: the first parts use the first token; from 5 s on, each part
    # renews first (less than a minute left).
    settings.VIDEO_UPLOAD_TOKEN_TTL_SECONDS = 65
    interview(live_server, page, tenant_a)
    assert wait_until(lambda: any(v.parts for v in video.videos.values()), 20)
    video.tokens.clear()  # the page's token stops working: its next part is refused once
    page.wait_for_url("**/done/", timeout=90000)

    assert wait_until(lambda: all(s.status == "ready" for s in segments()), 20)
    [segment] = segments()
    assert video.videos[segment.provider_video_id].encoded
    assert video.refused_uploads == 1  # renewed after the refusal, then before expiry:
    assert len(video.tokens) > 2
    with rls.tenant_context(tenant_a.pk):
        assert video_notes(InterviewSession.objects.get()) == []


def test_a_reconnected_call_starts_a_new_segment_and_keeps_the_old_one(
    live_server, page, tenant_a, realtime, video
):
    interview(live_server, page, tenant_a, questions=3)
    page.locator("#recording[data-state='on']").wait_for(timeout=20000)
    page.locator("#captions li").first.wait_for(timeout=20000)
    with rls.tenant_context(tenant_a.pk):
        call = InterviewSession.objects.get().provider_call_id
    response = httpx.post(
        f"{settings.OPENAI_BASE_URL}/realtime/calls/{call}/hangup",
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.status_code == 200
    page.get_by_text("Welcome back.", exact=False).first.wait_for(timeout=20000)
    # Up to three questions asked again, each waiting up to the simulator's answer timeout
    # when a busy machine hears no answer in the fake microphone, then both segments' uploads.
    page.wait_for_url("**/done/", timeout=120000)

    assert wait_until(lambda: len(segments()) == 2 and all(s.status == "ready" for s in segments()))
    first, second = segments()
    assert first.started_at < second.started_at
    assert all(video.videos[s.provider_video_id].encoded for s in (first, second))


CAMERA_REFUSED = """
(() => {
  const native = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) =>
    constraints.video && location.pathname.startsWith("/interview/session/")
      ? Promise.reject(new DOMException("refused", "NotAllowedError"))
      : native(constraints);
})();
"""


def test_a_refused_camera_leaves_the_voice_interview_going(
    live_server, page, tenant_a, realtime, video
):
    page.add_init_script(CAMERA_REFUSED)  # on the interview page, after the device check
    interview(live_server, page, tenant_a, video_required=True)
    page.locator("#recording[data-state='off']").wait_for(timeout=20000)
    assert "asks for video, but it is not being recorded" in page.locator("#recording").inner_text()
    page.wait_for_url("**/done/", timeout=60000)
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
        events = list(
            SessionEvent.objects.filter(session=session, kind="video.unavailable").values_list(
                "data", flat=True
            )
        )
    assert (session.status, session.end_reason) == ("completed", "interview_complete")
    assert events == [{"reason": "camera_denied", "via": "page", "video_required": True}]
    assert segments() == [] and video.videos == {}
