"""A recruiter follows a simulator interview live in the console, in Chromium, while the
candidate takes it in another browser: captions in conversation order, status, and a socket
dropped mid-interview that reconnects and catches up with nothing missing or repeated."""

import dataclasses

import pytest
from django.test import Client

from core import rls
from interviews.models import InterviewSession, TranscriptEntry
from tenants.models import Role
from tests.browser.conftest import snap
from tests.browser.test_interview_browser import simulated_provider
from tests.browser.test_onboarding_browser import invite, walk_onboarding
from tests.factories import MembershipFactory, QuestionFactory, UserFactory
from tests.support.realtime import FAST

pytestmark = pytest.mark.django_db(transaction=True)

CAPTIONS = "[...document.querySelectorAll('#live-panel li')].map((li) => li.textContent)"


@pytest.fixture
def realtime_unhurried(settings):
    # Long enough an interview for the recruiter to join, drop and rejoin while it runs, also
    # on a machine busy with other work (at 0.05 s a word it could end before the page came).
    with simulated_provider(settings, dataclasses.replace(FAST, seconds_per_word=0.1)):
        yield


def recruiter_page(browser, base_url, tenant):
    user = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant, user=user, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base_url}]
    )
    return context, context.new_page()


def test_a_recruiter_follows_an_interview_live_through_a_dropped_socket(
    live_server, asgi_server, browser, page, tenant_a, realtime_unhurried
):
    template, token = invite(tenant_a)
    for position, text in enumerate(
        ["Why this role?", "A bug you fixed?", "What did you learn?"], start=1
    ):
        QuestionFactory(template=template, tenant=tenant_a, position=position, text=text)
    walk_onboarding(page, live_server, token)
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()

    context, recruiter = recruiter_page(browser, asgi_server, tenant_a)
    try:
        recruiter.goto(f"{asgi_server}/admin/interviews/interviewsession/{session.pk}/change/")
        panel = recruiter.locator("#live-panel")
        panel.locator("li").first.wait_for(timeout=30000)
        assert recruiter.locator('[data-live="status"]').inner_text() in {"Live", "Connecting"}
        snap(recruiter, "live-view-following")

        # The socket drops mid-interview; the page reconnects and catches up.
        shown_before = recruiter.evaluate(f"{CAPTIONS}.length")
        recruiter.evaluate("window.liveView.drop()")
        recruiter.wait_for_function(
            "() => window.liveView.reconnects >= 1 && window.liveView.socket.readyState === 1",
            timeout=15000,
        )
        recruiter.wait_for_function(f"() => {CAPTIONS}.length > {shown_before}", timeout=30000)

        page.wait_for_url("**/done/", timeout=90000)
        recruiter.wait_for_function(
            "() => document.querySelector('[data-live=\"status\"]').textContent === 'Completed'",
            timeout=20000,
        )
        with rls.tenant_context(tenant_a.pk):
            stored = list(
                TranscriptEntry.objects.filter(session=session)
                .order_by("seq")
                .values_list("speaker", "text")
            )
        names = {"interviewer": "Interviewer", "candidate": "Candidate"}
        expected = [f"{names[speaker]}: {text}" for speaker, text in stored]
        # Late transcriptions can still land just after the end: wait for the last of them.
        recruiter.wait_for_function(f"() => {CAPTIONS}.length === {len(expected)}", timeout=10000)
        assert recruiter.evaluate(CAPTIONS) == expected
        assert (
            recruiter.get_attribute("#live-panel [data-live='captions']", "aria-live") == "polite"
        )
        snap(recruiter, "live-view-completed")
    finally:
        context.close()
