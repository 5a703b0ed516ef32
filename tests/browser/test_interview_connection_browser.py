"""The interview page when connecting goes wrong or the provider's events come in an order the
happy path does not show: in Chromium, against the fake provider (tests/support/realtime.py)
or the simulator, with the page's own timers on Playwright's clock where waiting is long."""

import dataclasses
import json

import pytest

from core import rls
from interviews.models import InterviewSession, SessionEvent
from tests.browser.conftest import snap
from tests.browser.test_interview_browser import KEEP_CONNECTIONS, KEY, simulated_provider
from tests.browser.test_onboarding_browser import invite, walk_onboarding
from tests.factories import QuestionFactory
from tests.support.realtime import FAST, FakeUpstream, early_speech_events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def upstream(settings):
    fake = FakeUpstream()
    settings.OPENAI_BASE_URL = fake.base_url
    settings.OPENAI_API_KEY = KEY
    yield fake
    fake.close()


def open_interview_on_a_clock(page, live_server, tenant) -> list[str]:
    """Walk to the interview page, then load it again with the page's timers on Playwright's
    clock (the onboarding pages keep real time). Returns the offers the page sends from then
    on, as they are sent."""
    _, token = invite(tenant)
    walk_onboarding(page, live_server, token)
    offers: list[str] = []
    page.clock.install()
    page.on("request", lambda r: r.url.endswith("/sdp/") and offers.append(r.url))
    page.reload(wait_until="commit")
    # Only the reloaded page's: the page before it may have sent its own offer (or a retry)
    # up to the moment the new one took over. The new page's first offer comes well after
    # this (its start call, the microphone and the WebRTC offer go first).
    offers.clear()
    page.wait_for_load_state("load")
    return offers


def wait_for_offers(page, offers, count, timeout_ms=10000):
    for _ in range(timeout_ms // 50):
        if len(offers) >= count:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"{len(offers)} offers, expected {count}")


def test_after_the_last_retry_the_page_says_one_thing(live_server, page, tenant_a, upstream):
    upstream.mode = 503  # the provider keeps failing
    offers = open_interview_on_a_clock(page, live_server, tenant_a)
    for attempt in range(1, 6):
        wait_for_offers(page, offers, attempt)
        page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('Reconnecting in')"
        )
        page.clock.run_for(16000)
    wait_for_offers(page, offers, 6)
    page.wait_for_function("() => document.getElementById('interview').dataset.state === 'error'")
    snap(page, "interview-gave-up")
    assert page.locator("#error-text").inner_text() == (
        "The interviewer service is not available right now. "
        "Check your internet connection and try again."
    )
    assert page.get_by_role("button", name="Try again").is_visible()
    # The status line no longer promises a reconnection beside the error.
    assert "Reconnecting" not in page.locator("#status").inner_text()
    assert page.get_by_role("button", name="End interview").is_enabled()


def test_a_configuration_error_stops_at_once(live_server, page, tenant_a, upstream):
    upstream.mode, upstream.code = 401, "invalid_api_key"
    offers = open_interview_on_a_clock(page, live_server, tenant_a)
    page.wait_for_function("() => document.getElementById('interview').dataset.state === 'error'")
    snap(page, "interview-not-configured")
    assert page.locator("#error-text").inner_text() == (
        "The interview can't start right now; we've told the company."
    )
    assert page.locator("#status").inner_text() == ""
    assert not page.get_by_role("button", name="Try again").is_visible()
    page.clock.run_for(60000)  # no retries, however long the candidate waits
    assert len(offers) == 1
    assert "invalid_api_key" not in page.content()
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()
        kinds = list(SessionEvent.objects.filter(session=session).values_list("kind", flat=True))
    assert "provider.misconfigured" in kinds


def test_a_rate_limit_is_waited_out_as_long_as_the_provider_asks(
    live_server, page, tenant_a, upstream
):
    upstream.mode, upstream.code = 429, "rate_limit_exceeded"
    upstream.headers = {"Retry-After": "20"}
    offers = open_interview_on_a_clock(page, live_server, tenant_a)
    page.wait_for_function(
        "() => document.getElementById('status').textContent"
        " === 'The interviewer service is busy right now. Reconnecting in 20 s...'"
    )
    page.clock.run_for(19000)  # the page's own backoff (1 s) would have asked again by now
    page.wait_for_timeout(300)
    assert len(offers) == 1
    page.clock.run_for(1500)
    wait_for_offers(page, offers, 2)


def test_a_provider_asking_for_a_long_wait_is_not_waited_out_on_the_page(
    live_server, page, tenant_a, upstream
):
    upstream.mode, upstream.code = 429, "rate_limit_exceeded"
    upstream.headers = {"Retry-After": "600"}
    offers = open_interview_on_a_clock(page, live_server, tenant_a)
    page.wait_for_function("() => document.getElementById('interview').dataset.state === 'error'")
    # Busy is not the candidate's connection, and ten minutes is not a countdown to watch.
    assert page.locator("#error-text").inner_text() == (
        "The interviewer service is busy right now. Please try again in a few minutes."
    )
    page.clock.run_for(700_000)
    assert len(offers) == 1


# --- events from the provider, played on the page's data channel ---------------------------


@pytest.fixture
def quiet_interviewer(settings):
    """The simulator as the provider, with an interviewer that takes a long time to begin and
    does not hear the microphone: what the page sees is what the test plays on its channel."""
    timing = dataclasses.replace(FAST, greeting_delay=60, speech_threshold=10**9)
    with simulated_provider(settings, timing):
        yield


def play(page, *events) -> None:
    """Deliver provider events to the page as if they came over its data channel."""
    page.evaluate(
        """(events) => {
          const channel = window.channels.at(-1);
          for (const event of events) {
            channel.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(event) }));
          }
        }""",
        [json.loads(json.dumps(event)) for event in events],
    )


def open_live_interview(page, live_server, tenant):
    template, token = invite(tenant)
    QuestionFactory(template=template, tenant=tenant, position=1, text="Why this role?")
    page.add_init_script(KEEP_CONNECTIONS)
    walk_onboarding(page, live_server, token)
    page.wait_for_function(
        "() => document.getElementById('interview').dataset.state === 'live'", timeout=20000
    )


def test_the_waiting_message_goes_once_the_interviewer_speaks(
    live_server, page, tenant_a, quiet_interviewer
):
    open_live_interview(page, live_server, tenant_a)
    assert page.locator("#status").inner_text() == "Connected. The interviewer will speak first."
    # The sound began before the data channel opened: its output_audio_buffer.started was
    # never delivered, but the words are.
    play(
        page,
        {"type": "response.output_audio_transcript.delta", "item_id": "item_g", "delta": "Hello"},
        {
            "type": "response.output_audio_transcript.done",
            "item_id": "item_g",
            "transcript": "Hello, thank you for joining. Why this role?",
        },
    )
    assert page.locator("#captions").inner_text().startswith("Interviewer:")
    assert page.locator("#status").inner_text() == "Connected."


def test_captions_follow_the_conversations_order(live_server, page, tenant_a, quiet_interviewer):
    """The candidate's speech began before the greeting, but joined the conversation after it
    (committed once the greeting was under way): its caption goes after the greeting, and
    the next question after it."""
    open_live_interview(page, live_server, tenant_a)

    play(
        page,
        *early_speech_events(
            greeting="Hello, thank you for joining. Why this role?",
            next_question="Thank you. A bug you fixed?",
            answer="Yes, I can hear you. I like the team.",
        ),
    )
    shown = page.locator("#captions li:not([hidden])").all_inner_texts()
    assert shown == [
        "Interviewer:Hello, thank you for joining. Why this role?",
        "You:Yes, I can hear you. I like the team.",
        "Interviewer:Thank you. A bug you fixed?",
    ]
