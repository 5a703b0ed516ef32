"""The interview page records the candidate's (fake) camera and uploads it to the api.video
fake in parts while a simulator interview runs; the segment becomes ready through the fake's
signed webhook to the running platform. A failing upload never stops the interview."""

import dataclasses
import time

import pytest

from core import rls
from interviews.models import InterviewSession, SessionEvent, VideoSegment
from tests.browser.conftest import snap
from tests.browser.test_interview_browser import simulated_provider
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


def interview(live_server, page, tenant):
    template, token = invite(tenant)
    QuestionFactory(template=template, tenant=tenant, position=1, text="Why this role?")
    QuestionFactory(template=template, tenant=tenant, position=2, text="A bug you fixed?")
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


def test_an_upload_failing_mid_interview_leaves_the_interview_going(
    live_server, page, tenant_a, slow_realtime, video
):
    interview(live_server, page, tenant_a)
    # A part went up; from now on the upload endpoint fails.
    assert wait_until(lambda: any(v.parts for v in video.videos.values()), 20)
    video.fail_uploads = 10**6
    page.locator("#recording[data-state='off']").wait_for(timeout=20000)
    assert "could not be uploaded" in page.locator("#recording").inner_text()
    assert page.url.endswith("/interview/session/" + str(segments()[0].session_id) + "/")
    snap(page, "interview-recording-failed")
    page.wait_for_url("**/done/", timeout=60000)

    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
        failures = list(
            SessionEvent.objects.filter(session=session, kind="video.upload_failed").values_list(
                "data", flat=True
            )
        )
    assert (session.status, session.end_reason) == ("completed", "interview_complete")
    [segment] = segments()
    assert failures == [{"reason": "upload_http_500", "via": "page", "segment_id": str(segment.pk)}]
    assert segment.status == "recording"  # never completed; the reconciliation will say failed
