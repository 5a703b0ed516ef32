"""The Content-Security-Policy and Permissions-Policy in a real browser: a whole recorded
interview (invitation, consent, sign-in, device check, interview over WebRTC with its video
uploaded to the api.video fake, done) and the recruiter's pages (live now, the session's
page following it live over its socket, then playing its recording) run with zero policy
violations, as do the console's other kinds of page; and the policies are really enforced
(an injected inline script is refused, the camera is refused outside the pages that
record)."""

import dataclasses
import time

import pytest
from django.test import Client

from core import rls
from interviews.models import InterviewSession, VideoSegment
from tenants.models import Role
from tests.browser.conftest import PolicyWatch, snap
from tests.browser.test_interview_browser import simulated_provider
from tests.browser.test_interview_recording_browser import video  # noqa: F401 (a fixture)
from tests.browser.test_onboarding_browser import invite, walk_onboarding
from tests.factories import (
    CandidateFactory,
    MembershipFactory,
    QuestionFactory,
    SessionFactory,
    TemplateFactory,
    UserFactory,
)
from tests.support.realtime import FAST

pytestmark = pytest.mark.django_db(transaction=True)

INJECT_INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__injectedRan = true";
  document.body.append(script);
  return window.__injectedRan === true;
}"""
ASK_FOR_THE_CAMERA = """() => navigator.mediaDevices.getUserMedia({ video: true })
  .then((stream) => { stream.getTracks().forEach((t) => t.stop()); return "granted"; })
  .catch((error) => error.name)"""


@pytest.fixture
def realtime_unhurried(settings):
    # An interview long enough for the recruiter's pages to follow it while it runs.
    with simulated_provider(
        settings,
        dataclasses.replace(FAST, seconds_per_word=0.4, max_speech=4, generation_ratio=1.0),
    ):
        yield


def recruiter(browser, tenant, *base_urls):
    """A recruiter's (viewer's) browser, signed in to the console on each of ``base_urls``."""
    user = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant, user=user, role=Role.VIEWER)
    return recruiter_context(browser, user, *base_urls)


def recruiter_context(browser, user, *base_urls):
    """A browser signed in as ``user`` on each of ``base_urls``."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    cookie = client.cookies["sessionid"].value
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": url} for url in base_urls])
    return context, context.new_page()


def ready_segment():
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with rls.bypass_context():
            segment = VideoSegment.objects.filter(status="ready").first()
        if segment:
            return segment
        time.sleep(0.2)
    raise AssertionError("the recording did not become ready")


def test_a_recorded_interview_and_its_review_report_no_csp_violations(
    live_server,
    asgi_server,
    browser,
    page,
    policy_watch,
    tenant_a,
    realtime_unhurried,
    video,  # noqa: F811
):
    template, token = invite(tenant_a)
    questions = ["Why this role?", "A bug you fixed?", "What did you learn?"]
    for position, text in enumerate(questions, start=1):
        QuestionFactory(template=template, tenant=tenant_a, position=position, text=text)
    walk_onboarding(page, live_server, token)  # link, consent, sign-in code, device check
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get()

    # The recruiter follows it: the session's live panel and the live-now list (daphne, for
    # the WebSockets), then its recording on the session's page once it is over.
    context, console = recruiter(browser, tenant_a, asgi_server, live_server.url)
    console_watch = PolicyWatch(console)
    try:
        console.goto(f"{asgi_server}/admin/interviews/interviewsession/{session.pk}/change/")
        console.locator("#live-panel li").first.wait_for(timeout=30000)
        console.wait_for_function(
            "() => window.liveView && window.liveView.socket.readyState === 1", timeout=15000
        )
        snap(console, "csp-live-panel")
        console.goto(f"{asgi_server}/admin/interviews/interviewsession/live/")
        console.wait_for_function(  # its tenant's socket (connect-src 'self' covers ws:)
            "() => document.querySelector('[data-live=socket]').textContent"
            " === 'Following interviews live.'",
            timeout=15000,
        )
        # The interview's row (reloaded by fetch when the socket says something changed),
        # unless the interview is over by then (the simulator's interviewer is quick).
        row = console.locator(f"#live-now tr[data-session='{session.pk}']")
        deadline = time.monotonic() + 20
        while not row.count() and "/done/" not in page.url and time.monotonic() < deadline:
            console.wait_for_timeout(200)

        page.wait_for_url("**/done/", timeout=120000)
        assert "What happens next" in page.content()
        assert policy_watch.violations() == []  # the candidate's whole way
        segment = ready_segment()  # its video was uploaded to the provider from the page

        console.goto(f"{live_server.url}/admin/interviews/interviewsession/{session.pk}/change/")
        player = console.locator(f'video[data-segment="{segment.pk}"]')
        console.wait_for_function(
            "(v) => v.readyState >= 1 && v.duration > 0", arg=player.element_handle()
        )
        snap(console, "csp-console-video")

        assert console_watch.violations() == []

        # The policies are enforced, and the recorder hears it when they refuse something.
        assert console.evaluate(INJECT_INLINE_SCRIPT) is False
        console.wait_for_function("() => window.__cspViolations.length === 1")
        events = [v for v in console_watch.violations() if isinstance(v, dict)]
        assert [(v["directive"], v["blocked"]) for v in events] == [("script-src-elem", "inline")]
        assert any("Content Security Policy" in message for message in console_watch.console)
    finally:
        context.close()

    # Only the device check and the interview page may use the camera.
    assert page.evaluate(ASK_FOR_THE_CAMERA) == "NotAllowedError"
    deadline = time.monotonic() + 5  # the browser's console message about it, on its way
    while not policy_watch.console and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert any("camera" in message for message in policy_watch.console), policy_watch.console


def console_pages(tenant, session, candidate, template):
    """The console's kinds of page an owner opens: lists (with filters and search), forms
    (inlines, date and time widgets, the select-all checkbox), the import and invite pages,
    the erasure confirmation and the tenant's settings."""
    return [
        "/admin/",
        "/admin/interviews/interviewsession/?status__exact=completed",
        f"/admin/interviews/interviewsession/{session.pk}/change/",
        "/admin/interviews/candidate/?q=example",
        "/admin/interviews/candidate/add/",
        f"/admin/interviews/candidate/{candidate.pk}/change/",
        "/admin/interviews/candidate/import/",
        f"/admin/interviews/interviewtemplate/{template.pk}/change/",
        "/admin/interviews/interviewtemplate/add/",
        "/admin/invitations/interviewinvitation/",
        "/admin/invitations/accommodationrequest/",
        "/admin/tenants/auditevent/",
        "/admin/tenants/membership/add/",
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        "/admin/webhooks/webhookendpoint/add/",
        "/admin/tenant_api/apiclient/add/",
    ]


def test_the_consoles_pages_report_no_csp_violations(browser, live_server, tenant_a):
    owner = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant_a, user=owner, role=Role.OWNER)
    candidate = CandidateFactory(tenant=tenant_a)
    template = TemplateFactory(tenant=tenant_a)
    QuestionFactory(template=template, tenant=tenant_a, position=1, text="Why this role?")
    session = SessionFactory(
        tenant=tenant_a, candidate=candidate, template=template, status="completed"
    )
    context, console = recruiter_context(browser, owner, live_server.url)
    watch = PolicyWatch(console)
    try:
        for path in console_pages(tenant_a, session, candidate, template):
            response = console.goto(f"{live_server.url}{path}")
            assert response.status == 200, path
            console.wait_for_load_state("load")
            # What the pages' scripts do on a click: "Add another" row, the calendar widget.
            for selector in [".add-row a:visible", ".datetimeshortcuts a:visible"]:
                if console.locator(selector).count():
                    console.locator(selector).first.click()
            assert watch.violations() == [], path
        # An operator's pages: django-celery-beat's periodic task form (its inline script
        # runs by the response's nonce) and Django's own user form.
        operator = UserFactory(is_staff=True, is_superuser=True)
        operator_context, operator_page = recruiter_context(browser, operator, live_server.url)
        operator_watch = PolicyWatch(operator_page)
        try:
            for path in ["/admin/django_celery_beat/periodictask/add/", "/admin/auth/user/"]:
                assert operator_page.goto(f"{live_server.url}{path}").status == 200, path
                operator_page.wait_for_load_state("load")
                assert operator_watch.violations() == [], path
            assert operator_page.goto(
                f"{live_server.url}/admin/django_celery_beat/periodictask/add/"
            ).ok
            # The nonce'd script ran: it hides the crontab translation row.
            assert operator_page.locator(".field-crontab_translation").is_hidden()
        finally:
            operator_context.close()
    finally:
        context.close()


def test_the_api_docs_report_no_csp_violations(live_server, page, policy_watch):
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for(timeout=20000)  # rendered the schema
    page.locator(".opblock-summary").first.click()  # opens an operation
    page.wait_for_load_state("networkidle")
    assert policy_watch.violations() == []
