"""The candidate session API's OpenAPI document is complete enough for a client built from it."""

import pytest
from django.test import Client
from django.utils import timezone

from live.tokens import session_token_issue
from tests.factories import SessionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def resolve(schema, node):
    """The schema object behind a reference (or a lone allOf, spectacular's way to describe
    a referenced enum)."""
    while "$ref" in node or len(node.get("allOf", [])) == 1:
        node = node["allOf"][0] if "allOf" in node else node
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def candidate_operations(schema):
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/candidate/")
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_every_candidate_operation_documents_the_401_and_its_error_body(schema):
    operations = candidate_operations(schema)
    # token, start, heartbeat, end, status, sdp, transcript, video, video token, events
    assert len(operations) == 10
    for name, operation in operations:
        assert "401" in operation["responses"], name
        body = operation["responses"]["401"]["content"]["application/json"]["schema"]
        error = resolve(schema, resolve(schema, body)["properties"]["error"])
        assert set(error["properties"]) >= {"code", "message"}, name


def test_the_transcript_request_describes_its_entries(schema):
    operation = schema["paths"]["/api/candidate/sessions/{session_id}/transcript/"]["post"]
    body = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    entries = body["properties"]["entries"]
    assert entries["type"] == "array"
    assert entries["minItems"] == 1 and entries["maxItems"] == 50
    entry = resolve(schema, entries["items"])
    assert entry["type"] == "object"
    assert set(entry["required"]) == {"item_id", "speaker", "text"}
    assert set(entry["properties"]) == {
        "item_id",
        "speaker",
        "text",
        "started_ms",
        "ended_ms",
        "before_item_ids",
    }
    assert resolve(schema, entry["properties"]["speaker"])["enum"] == ["interviewer", "candidate"]
    assert entry["properties"]["text"]["maxLength"] == 10_000
    assert all(field.get("description") for field in entry["properties"].values())
    result = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(result["properties"]) == {"accepted", "ignored"}
    assert all(field.get("description") for field in result["properties"].values())


@pytest.mark.parametrize("action", ["start", "heartbeat", "end", "status"])
def test_the_session_status_answer_is_what_the_schema_says(schema, tenant_a, action):
    session = SessionFactory(
        tenant=tenant_a, candidate__user=UserFactory(), status="live", started_at=timezone.now()
    )
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    method = "get" if action == "status" else "post"
    operation = schema["paths"][f"/api/candidate/sessions/{{session_id}}/{action}/"][method]
    documented = resolve(
        schema, operation["responses"]["200"]["content"]["application/json"]["schema"]
    )
    response = getattr(Client(), method)(
        f"/api/candidate/sessions/{session.pk}/{action}/",
        **({"data": {}, "content_type": "application/json"} if method == "post" else {}),
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    assert set(documented["properties"]) == set(response.json())
    assert set(documented["required"]) == set(response.json())


def test_the_video_endpoints_are_documented(schema):
    segment = schema["paths"]["/api/candidate/sessions/{session_id}/video/"]["post"]
    assert {"201", "401", "404", "409", "502", "504"} <= set(segment["responses"])
    body = resolve(schema, segment["responses"]["201"]["content"]["application/json"]["schema"])
    assert set(body["properties"]) == {
        "segment_id",
        "video_id",
        "upload_token",
        "upload_url",
        "expires_at",
    }
    renewal = schema["paths"]["/api/candidate/sessions/{session_id}/video/{segment_id}/token/"]
    assert {"200", "401", "404", "409", "502", "504"} <= set(renewal["post"]["responses"])
    body = resolve(schema, renewal["post"]["responses"]["200"]["content"]["application/json"])
    assert set(resolve(schema, body["schema"])["properties"]) == {
        "upload_token",
        "upload_url",
        "expires_at",
    }
    webhook = schema["paths"]["/api/video/webhooks/"]["post"]
    assert {"200", "401"} <= set(webhook["responses"])
