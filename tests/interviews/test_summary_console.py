"""The AI summary on the session's page in the console: shown beside the recruiter's own
decision as advice, with its evidence and where it came from; asked for again by those who
may change sessions (not viewers), audited; another tenant's summary is out of sight."""

import re

import pytest
from django.urls import reverse

from core import rls
from interviews.models import InterviewSession, SessionSummary
from interviews.summaries.prompt import PROMPT_VERSION
from tenants.models import AuditEvent, Role
from tests.conftest import console_client
from tests.factories import SessionFactory, SummaryFactory
from tests.support.summaries import interview, summary_of

pytestmark = [pytest.mark.django_db, pytest.mark.summaries]

CRITERIA = [
    {
        "criterion": "Queues",
        "weight": "2",
        "score": 4,
        "rationale": "Described a real queue.",
        "evidence": ["I built a job queue in Redis"],
        "quotes_dropped": 1,
    },
    {
        "criterion": "Reliability",
        "weight": "1",
        "score": None,
        "rationale": "Not discussed.",
        "evidence": [],
        "quotes_dropped": 0,
    },
]


def ready_summary(session, **fields):
    return SummaryFactory(
        session=session,
        status="ready",
        summary="Built and ran a Redis job queue.",
        strengths=["Concrete queue design."],
        concerns=["Little on testing."],
        criterion_scores=CRITERIA,
        overall_rating="3.7",
        recommendation="yes",
        model="gpt-5-mini-2026-01-01",
        prompt_version=PROMPT_VERSION,
        token_usage={"input_tokens": 1200, "output_tokens": 300, "total_tokens": 1500},
        quotes_dropped=1,
        **fields,
    )


def page(client, session):
    url = reverse("admin:interviews_interviewsession_change", args=[session.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def rerun_url(session):
    return reverse("admin:interviews_interviewsession_summary_rerun", args=[session.pk])


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_summary_sits_beside_the_decision_as_advice(recruiter_client, tenant_a):
    session = SessionFactory(tenant=tenant_a, status="completed", decision="hold")
    ready_summary(session)
    html = page(recruiter_client, session)
    shown = text(html)
    assert html.index("Decision") < html.index("AI summary (advice only: the decision is yours)")
    for expected in (
        "Ready",
        "Built and ran a Redis job queue.",
        "Concrete queue design.",
        "Little on testing.",
        "Queues 2 4 / 5 Described a real queue.",
        "I built a job queue in Redis",
        "Reliability 1 not assessed Not discussed.",
        "3.7 / 5",
        "Yes",
        f"gpt-5-mini-2026-01-01, prompt {PROMPT_VERSION}; 1,500 tokens (1,200 in, 300 out)",
        "1 quote(s) dropped: not found in the transcript",
        "Write the AI summary again",
    ):
        assert expected in shown, expected
    # The decision is the recruiter's own, still theirs to change.
    assert re.search(r'<select name="decision"', html)


def test_a_failed_summary_shows_why(recruiter_client, tenant_a):
    session = SessionFactory(tenant=tenant_a, status="completed")
    SummaryFactory(
        session=session,
        status="failed",
        summary="",
        overall_rating=None,
        error="The AI service answered 401 (invalid_api_key).",
    )
    shown = text(page(recruiter_client, session))
    assert "Failed: The AI service answered 401 (invalid_api_key)." in shown


def test_a_summary_waiting_to_be_retried_says_so(recruiter_client, tenant_a):
    session = SessionFactory(tenant=tenant_a, status="completed")
    SummaryFactory(
        session=session,
        status="pending",
        summary="",
        overall_rating=None,
        error="Attempt 1 failed: The AI service answered 503 (server_error). Trying again shortly.",
    )
    shown = text(page(recruiter_client, session))
    assert "Pending - Attempt 1 failed: The AI service answered 503" in shown


def test_the_session_list_shows_the_ai_rating(recruiter_client, tenant_a):
    ready_summary(SessionFactory(tenant=tenant_a, status="completed"))
    failed = SessionFactory(tenant=tenant_a, status="completed")
    SummaryFactory(session=failed, status="failed", overall_rating=None, summary="")
    SessionFactory(tenant=tenant_a, status="live")
    listing = recruiter_client.get(reverse("admin:interviews_interviewsession_changelist"))
    cells = re.findall(r'<td class="field-rating">(.*?)</td>', listing.content.decode())
    assert sorted(cells) == ["-", "3.7", "Failed"]


def test_a_recruiter_asks_for_the_summary_again_from_the_page(
    recruiter_client, tenant_a, upstream, django_capture_on_commit_callbacks
):
    session = interview(tenant_a, status="completed")
    ready_summary(session)
    with django_capture_on_commit_callbacks(execute=True):
        response = recruiter_client.post(rerun_url(session))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:interviews_interviewsession_change", args=[session.pk]
    )
    summary = summary_of(session)
    assert summary.status == "ready" and len(upstream.requests) == 1
    assert summary.summary.startswith("Simulated summary")  # written afresh
    with rls.tenant_context(tenant_a.pk):
        [event] = AuditEvent.objects.filter(action="summary.rerun")
    assert event.actor_id == recruiter_client.user.pk


def test_a_recruiter_asks_again_for_several_from_the_list(recruiter_client, tenant_a, upstream):
    sessions = [interview(tenant_a, status="completed") for _ in range(2)]
    silent = SessionFactory(tenant=tenant_a, status="completed")  # nothing to summarise
    for session in sessions:
        SummaryFactory(session=session, status="failed", overall_rating=None, summary="")
    response = recruiter_client.post(
        reverse("admin:interviews_interviewsession_changelist"),
        {"action": "rerun_summaries", "_selected_action": [s.pk for s in [*sessions, silent]]},
        follow=True,
    )
    shown = text(response.content.decode())
    assert "AI summary asked for again: 2 session(s)." in shown
    assert "The candidate said nothing a summary could be written from." in shown
    for session in sessions:
        assert summary_of(session).status == "pending"  # the worker takes it from here


@pytest.mark.parametrize("role", [Role.RECRUITER, Role.ADMIN, Role.OWNER])
def test_those_who_may_change_sessions_may_ask_again(tenant_a, role, upstream):
    session = interview(tenant_a, status="completed")
    response = console_client(tenant_a, role).post(rerun_url(session))
    assert response.status_code == 302
    assert summary_of(session).status == "pending"


def test_a_viewer_reads_the_summary_but_cannot_ask_for_it_again(tenant_a, upstream):
    viewer = console_client(tenant_a, Role.VIEWER)
    session = interview(tenant_a, status="completed")
    ready_summary(session)
    html = page(viewer, session)
    assert "Built and ran a Redis job queue." in html
    assert "Write the AI summary again" not in html
    assert viewer.post(rerun_url(session)).status_code == 403
    listing = viewer.get(reverse("admin:interviews_interviewsession_changelist"))
    assert "rerun_summaries" not in listing.content.decode()
    viewer.post(
        reverse("admin:interviews_interviewsession_changelist"),
        {"action": "rerun_summaries", "_selected_action": [session.pk]},
    )
    summary = summary_of(session)
    assert summary.status == "ready" and summary.summary == "Built and ran a Redis job queue."
    assert upstream.requests == []
    with rls.tenant_context(tenant_a.pk):
        assert not AuditEvent.objects.filter(action="summary.rerun").exists()


def test_another_tenants_summary_is_out_of_sight(recruiter_client, tenant_a, tenant_b, upstream):
    theirs = interview(tenant_b, status="completed")
    ready_summary(theirs, error="")
    url = reverse("admin:interviews_interviewsession_change", args=[theirs.pk])
    assert recruiter_client.get(url).status_code == 404
    assert recruiter_client.post(rerun_url(theirs)).status_code == 404
    listing = recruiter_client.get(reverse("admin:interviews_interviewsession_changelist"))
    assert re.findall(r'<td class="field-rating">(.*?)</td>', listing.content.decode()) == []
    assert summary_of(theirs).status == "ready" and upstream.requests == []
    # The database wall too: in tenant A's context, B's summary does not exist.
    with rls.tenant_context(tenant_a.pk):
        assert not SessionSummary.objects.filter(session_id=theirs.pk).exists()
        assert not InterviewSession.objects.filter(pk=theirs.pk).exists()


def test_asking_again_is_a_post(recruiter_client, tenant_a):
    session = SessionFactory(tenant=tenant_a, status="completed")
    assert recruiter_client.get(rerun_url(session)).status_code == 405


def test_a_session_still_running_cannot_be_summarised_yet(recruiter_client, tenant_a):
    session = interview(tenant_a, status="live")
    response = recruiter_client.post(rerun_url(session), follow=True)
    assert "Only an interview that has ended can be summarised." in response.content.decode()
    assert summary_of(session) is None
