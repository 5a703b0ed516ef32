"""The simulator answers the Responses API call of the summaries, so that a summary appears
after a local interview with no API key: the production worker code, unchanged, against
the simulator's HTTP app."""

import httpx
import pytest

from core import rls
from interviews import services
from interviews.models import SessionSummary
from interviews.summaries.prompt import summary_schema
from tests.support.realtime import serve_simulator
from tests.support.summaries import ANSWERS, interview


@pytest.fixture
def simulator(settings):
    served, _simulator = serve_simulator()
    settings.OPENAI_BASE_URL = served.base_url
    yield served
    served.close()


def request(schema, text="[1] Interviewer: Hi?\n[2] Candidate: Hello. I build queues."):
    return {
        "model": "gpt-5-mini",
        "instructions": "Summarise.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
        "text": {"format": {"type": "json_schema", "name": "x", "schema": schema, "strict": True}},
    }


def post(simulator, body, key="sk-test"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{simulator.base_url}/responses", json=body, headers=headers, timeout=5)


@pytest.mark.django_db
@pytest.mark.summaries
def test_the_summary_of_an_interview_comes_from_the_simulator(tenant_a, simulator):
    session = interview(tenant_a, status="completed")
    with rls.tenant_context(tenant_a.pk):
        SessionSummary.objects.create(tenant_id=tenant_a.pk, session=session)
    run = services.summary_write(session_id=str(session.pk), tenant_id=str(tenant_a.pk))
    assert run.outcome == "ready"
    with rls.tenant_context(tenant_a.pk):
        summary = SessionSummary.objects.get(session=session)
    assert summary.summary.startswith("Simulated summary: the candidate answered 3 time(s)")
    assert summary.quotes_dropped == 0  # every quote is a sentence the candidate said
    said = " ".join(ANSWERS)
    quotes = [q for entry in summary.criterion_scores for q in entry["evidence"]]
    assert quotes and all(q in said for q in quotes)
    assert [e["criterion"] for e in summary.criterion_scores] == ["Queues", "Reliability"]
    assert [e["score"] for e in summary.criterion_scores] == [4, 3]
    assert summary.overall_rating == 3.5 and summary.recommendation == "yes"
    assert summary.model == "gpt-5-mini" and summary.token_usage["total_tokens"] > 0


def test_the_same_interview_gets_the_same_answer(simulator):
    body = request(summary_schema([]))
    first, second = post(simulator, body), post(simulator, body)
    assert first.status_code == 200
    assert first.json() == second.json()
    answer = first.json()
    assert answer["object"] == "response" and answer["status"] == "completed"
    [message] = answer["output"]
    assert message["content"][0]["type"] == "output_text"
    assert set(answer["usage"]) >= {"input_tokens", "output_tokens", "total_tokens"}


def test_a_schema_the_real_service_would_refuse_in_strict_mode_is_refused(simulator):
    schema = summary_schema([])
    del schema["properties"]["criteria"]["items"]["additionalProperties"]
    schema["required"].remove("concerns")
    response = post(simulator, request(schema))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json_schema"
    assert "additionalProperties must be false" in error["message"]
    assert "every property must be required" in error["message"]


def test_it_wants_a_key_and_structured_output(simulator):
    assert post(simulator, request(summary_schema([])), key="").status_code == 401
    body = request(summary_schema([]))
    body["text"] = {"format": {"type": "text"}}
    assert post(simulator, body).json()["error"]["code"] == "unsupported_format"
