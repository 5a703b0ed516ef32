"""The whole candidate journey in Chromium against the simulator: invitation, consent, sign-in,
device check, a spoken interview over WebRTC through our SDP proxy, completion - with the
server's sideband writing the transcript."""

import asyncio
import contextlib
import dataclasses
import time

import httpx
import pytest
from django.conf import settings

from core import rls
from devtools.simulator.call import Timing
from interviews.models import InterviewSession, SessionEvent, SessionSummary, TranscriptEntry
from live.sideband.store import database_threads
from live.worker import RealtimeWorker
from tests.browser.conftest import snap
from tests.browser.test_onboarding_browser import invite, walk_onboarding
from tests.factories import CriterionFactory, QuestionFactory
from tests.support.realtime import FAST, LoopThread, make_event, serve_simulator

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "sk-proj-" + "e2eSecretKey0123456789abcdefXYZ" * 2


@contextlib.contextmanager
def simulated_provider(settings, timing: Timing = FAST):
    """The simulator as the provider, and the realtime worker following its calls."""
    served, _ = serve_simulator(timing)
    settings.OPENAI_BASE_URL = served.base_url
    settings.OPENAI_API_KEY = KEY
    worker_thread = LoopThread()
    stop = worker_thread.run(make_event())
    worker = RealtimeWorker(poll_seconds=0.2)
    future = asyncio.run_coroutine_threadsafe(worker.run(stop), worker_thread.loop)
    try:
        yield
    finally:
        worker_thread.loop.call_soon_threadsafe(stop.set)
        with contextlib.suppress(Exception):
            future.result(10)
        # The followers' database work runs on threads of their own: let what is in flight
        # finish before the test database is emptied.
        database_threads().drain()
        worker_thread.stop()
        served.close()


@pytest.fixture
def realtime(settings):
    with simulated_provider(settings):
        yield


@pytest.fixture
def slow_speaking_realtime(settings):
    """An interviewer that takes its time (its responses last as long as its speech), so the
    candidate can act while a response is in progress."""
    with simulated_provider(
        settings,
        dataclasses.replace(FAST, seconds_per_word=0.4, max_speech=4, generation_ratio=1.0),
    ):
        yield


@pytest.mark.summaries
def test_a_candidate_completes_an_interview(
    live_server, page, policy_watch, tenant_a, realtime, caplog
):
    template, token = invite(tenant_a)
    QuestionFactory(template=template, tenant=tenant_a, position=1, text="Why this role?")
    QuestionFactory(template=template, tenant=tenant_a, position=2, text="A bug you fixed?")
    CriterionFactory(template=template, tenant=tenant_a, name="Clarity")

    responses = []
    page.on("response", lambda response: responses.append(response))
    walk_onboarding(page, live_server, token)

    page.wait_for_function(
        "() => document.getElementById('interview').dataset.state === 'live'", timeout=20000
    )
    page.locator("#captions li").first.wait_for(timeout=20000)
    snap(page, "interview-live")
    assert "Why this role?" in page.locator("#captions").inner_text()
    assert page.get_by_role("button", name="Mute microphone").is_enabled()

    # The answer to the first question shows between it and the next question, though its
    # text (the transcription) arrives after the next question was asked.
    page.wait_for_function(
        """() => {
          const shown = [...document.querySelectorAll("#captions li:not([hidden])")]
            .map((li) => li.textContent);
          const first = shown.findIndex((text) => text.includes("Why this role?"));
          const next = shown.findIndex((text) => text.includes("A bug you fixed?"));
          return first >= 0 && next > first
            && shown.slice(first + 1, next).some((text) => text.startsWith("You:"));
        }""",
        timeout=30000,
    )
    page.wait_for_url("**/done/", timeout=60000)
    snap(page, "interview-done")
    assert "What happens next" in page.content()
    assert policy_watch.violations() == []  # no Content-Security-Policy refusal on the way

    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
        rows = list(
            TranscriptEntry.objects.filter(session=session)
            .order_by("seq")
            .values_list("speaker", "source", "text")
        )
    assert (session.status, session.end_reason) == ("completed", "interview_complete")
    speakers = [speaker for speaker, _, _ in rows]
    assert speakers.count("interviewer") >= 3 and speakers.count("candidate") >= 2
    assert {source for _, source, _ in rows} == {"server"}
    # The fake microphone may be heard before the interviewer starts (turn detection then
    # starts it); either way the interview opens with one greeting and question 1.
    interviewer = [text for speaker, _, text in rows if speaker == "interviewer"]
    assert "Why this role?" in interviewer[0]
    assert sum("Hello, thank you for joining" in text for text in interviewer) == 1

    # The AI's summary follows, from the simulator's Responses API (tasks run inline here,
    # as soon as the session's end commits), its evidence the candidate's own words.
    deadline = time.monotonic() + 15
    while True:
        with rls.tenant_context(tenant_a.pk):
            summary = SessionSummary.objects.filter(session=session).first()
        if (summary and summary.status in ("ready", "failed")) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert summary.status == "ready", summary.error
    assert summary.quotes_dropped == 0
    assert [entry["criterion"] for entry in summary.criterion_scores] == ["Clarity"]
    candidate_said = " ".join(text for speaker, _, text in rows if speaker == "candidate")
    assert all(q in candidate_said for q in summary.criterion_scores[0]["evidence"])

    seen = [page.content()]
    for response in responses:
        # Bodies of redirects and of pages navigated away from are not kept by the browser.
        with contextlib.suppress(Exception):
            seen.append(response.text())
    assert not any(KEY in text for text in seen)
    assert KEY not in caplog.text


def test_a_dropped_call_reconnects_once_and_the_interview_carries_on(
    live_server, page, tenant_a, realtime
):
    template, token = invite(tenant_a)
    QuestionFactory(template=template, tenant=tenant_a, position=1, text="Why this role?")
    QuestionFactory(template=template, tenant=tenant_a, position=2, text="A bug you fixed?")
    QuestionFactory(template=template, tenant=tenant_a, position=3, text="Your best team?")

    offers = []
    page.on("request", lambda r: r.url.endswith("/sdp/") and offers.append(r.url))
    walk_onboarding(page, live_server, token)
    page.locator("#captions li").first.wait_for(timeout=20000)
    with rls.tenant_context(tenant_a.pk):
        first_call = InterviewSession.objects.get().provider_call_id

    # The provider drops the call (its side hangs up): the page sees its channel close.
    response = httpx.post(
        f"{settings.OPENAI_BASE_URL}/realtime/calls/{first_call}/hangup",
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.status_code == 200
    page.wait_for_function(
        "() => document.getElementById('interview').dataset.state === 'reconnecting'", timeout=10000
    )
    snap(page, "interview-reconnecting")
    page.get_by_text("Welcome back.", exact=False).first.wait_for(timeout=20000)
    # The questions asked again may each wait out the simulator's answer timeout when a busy
    # machine hears no answer in the fake microphone.
    page.wait_for_url("**/done/", timeout=120000)

    assert len(offers) == 2  # one reconnection, however the loss was reported
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
        said = list(
            TranscriptEntry.objects.filter(session=session)
            .order_by("seq")
            .values_list("speaker", "text")
        )
    assert session.provider_call_id != first_call
    assert (session.status, session.end_reason) == ("completed", "interview_complete")
    interviewer = [text for speaker, text in said if speaker == "interviewer"]
    # Greeted once, then welcomed back: the interview did not start over.
    assert sum("Hello, thank you for joining" in text for text in interviewer) == 1
    assert sum("Welcome back." in text for text in interviewer) == 1
    assert "Your best team?" in " ".join(interviewer)


# Keeps the page's peer connections and data channels where the test can reach them.
KEEP_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.peers = [];
  window.channels = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.peers.push(this);
    }
    createDataChannel(...args) {
      const channel = super.createDataChannel(...args);
      window.channels.push(channel);
      return channel;
    }
  };
})();
"""


def test_a_connection_lost_two_ways_at_once_reconnects_once(live_server, page, tenant_a, realtime):
    template, token = invite(tenant_a)
    QuestionFactory(template=template, tenant=tenant_a, position=1, text="Why this role?")
    QuestionFactory(template=template, tenant=tenant_a, position=2, text="A bug you fixed?")

    offers = []
    page.on("request", lambda r: r.url.endswith("/sdp/") and offers.append(r.url))
    page.add_init_script(KEEP_CONNECTIONS)
    walk_onboarding(page, live_server, token)
    page.locator("#captions li").first.wait_for(timeout=20000)

    # A failing network reports itself twice in the same moment: ICE failed, channel closed.
    page.evaluate(
        """() => {
          const pc = window.peers.at(-1);
          Object.defineProperty(pc, "connectionState", { get: () => "failed" });
          pc.dispatchEvent(new Event("connectionstatechange"));
          window.channels.at(-1).dispatchEvent(new Event("close"));
        }"""
    )
    page.get_by_text("Welcome back.", exact=False).first.wait_for(timeout=20000)
    # The questions asked again may each wait out the simulator's answer timeout when a busy
    # machine hears no answer in the fake microphone.
    page.wait_for_url("**/done/", timeout=120000)

    assert len(offers) == 2  # one reconnection for the two reports
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
    assert (session.status, session.end_reason) == ("completed", "interview_complete")


def test_an_answer_typed_while_the_interviewer_speaks_is_answered_after_it(
    live_server, page, tenant_a, slow_speaking_realtime
):
    template, token = invite(tenant_a)
    QuestionFactory(template=template, tenant=tenant_a, position=1, text="Why this role?")
    QuestionFactory(template=template, tenant=tenant_a, position=2, text="A bug you fixed?")

    walk_onboarding(page, live_server, token)
    page.locator("#speaker-interviewer[data-active='true']").wait_for(timeout=20000)
    page.get_by_label("Prefer to type?").fill("I like the team.")
    page.get_by_role("button", name="Send answer").click()
    status = page.locator("#status")
    assert "when it has finished speaking" in status.inner_text()
    snap(page, "interview-typed-while-speaking")
    # Once the interviewer speaks again, the status line no longer talks about the answer.
    page.wait_for_function(
        "() => document.getElementById('status').textContent === 'Connected.'", timeout=20000
    )
    page.wait_for_url("**/done/", timeout=60000)

    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
        said = list(TranscriptEntry.objects.filter(session=session).values_list("speaker", "text"))
        errors = list(
            SessionEvent.objects.filter(session=session, kind="provider.error").values_list(
                "data", flat=True
            )
        )
    assert ("candidate", "I like the team.") in said
    # The page did not ask for a reply the provider would refuse mid-response.
    assert errors == []
    assert (session.status, session.end_reason) == ("completed", "interview_complete")
