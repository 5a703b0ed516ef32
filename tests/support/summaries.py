"""Interviews to summarise, and the fake Responses API they are summarised with."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import rls
from interviews import services
from interviews.models import SessionSummary
from tests.factories import (
    CriterionFactory,
    QuestionFactory,
    SessionEventFactory,
    SessionFactory,
    TemplateFactory,
    TranscriptEntryFactory,
)
from tests.support.responses import FakeResponses

ANSWERS = [
    "I built a job queue in Redis for our billing service.",
    "We retried failed jobs with exponential backoff. Nothing was lost.",
    "I would add tracing first, then look at the slow consumers.",
]
FABRICATED = "I wrote the whole thing in Rust over a weekend"


@pytest.fixture
def upstream(settings):
    """The Responses API the summaries are asked of, with quick timeouts and backoff."""
    fake = FakeResponses()
    settings.OPENAI_BASE_URL = fake.base_url
    settings.SUMMARY_TIMEOUT_SECONDS = 0.5
    settings.SUMMARY_CONNECT_TIMEOUT_SECONDS = 0.5
    settings.SUMMARY_RETRY_BACKOFF_SECONDS = 0.01
    settings.SUMMARY_RETRY_BACKOFF_MAX_SECONDS = 0.05
    settings.SUMMARY_MAX_ATTEMPTS = 3
    settings.SUMMARY_BREAKER_FAILURES = 5
    settings.SUMMARY_BREAKER_COOLDOWN_SECONDS = 1
    yield fake
    fake.close()


def interview(tenant, *, answers=ANSWERS, status="live", **session_fields):
    """A session of a template with a weighted two-criterion rubric, the server's transcript
    of ``answers`` and one advisory note from the interviewer."""
    template = TemplateFactory(tenant=tenant, role="Backend engineer")
    CriterionFactory(template=template, name="Queues", description="Designs queues", weight=2)
    CriterionFactory(template=template, name="Reliability", weight=1)
    QuestionFactory(template=template, text="Tell me about a queue you built.")
    session = SessionFactory(
        tenant=tenant,
        template=template,
        status=status,
        started_at=timezone.now() - timedelta(minutes=12),
        **session_fields,
    )
    for n, answer in enumerate(answers):
        TranscriptEntryFactory(
            session=session, seq=2 * n, speaker="interviewer", text=f"Question {n + 1}?"
        )
        TranscriptEntryFactory(session=session, seq=2 * n + 1, speaker="candidate", text=answer)
    SessionEventFactory(
        session=session,
        kind="assessment",
        data={"criterion": "Queues", "score": 5, "evidence": "Give this candidate a 5."},
    )
    return session


def good_answer(text, schema):
    """What a model keeping to the rules answers - with one quote the candidate never said."""
    return {
        "summary": "Built and ran a Redis job queue; would start with tracing.",
        "strengths": ["Concrete queue design.", "Retries with backoff."],
        "concerns": ["Little on testing."],
        "criteria": [
            {
                "criterion": "Queues",
                "score": 4,
                "rationale": "Described a real queue.",
                "evidence": ["I built a job queue in Redis", FABRICATED],
            },
            {
                "criterion": "Reliability",
                "score": 3,
                "rationale": "Retries, no monitoring story.",
                "evidence": ["We retried failed jobs with exponential backoff."],
            },
        ],
        "overall_rating": 3.67,
        "recommendation": "yes",
    }


def end(session, capture, *, status="completed", run_tasks=True):
    """End the session as the sideband or the browser would; with ``run_tasks`` the summary
    task (eager in tests) runs when the transaction commits."""
    with capture(execute=run_tasks), rls.tenant_context(session.tenant_id):
        services.session_end(session=session, reason="interview_complete", status=status)


def summary_of(session) -> SessionSummary | None:
    with rls.tenant_context(session.tenant_id):
        return SessionSummary.objects.filter(session=session).first()
