import io
import json
import logging

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_migrations_and_redis(client, settings):
    assert settings.REDIS_URL  # the test command always provides a real Redis
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True, "problems": []}
    assert body["checks"]["redis"] == {"ok": True}


def test_readyz_is_503_when_the_database_does_not_know_this_processs_signing_key(client):
    # A SECRET_KEY changed without the migrate that installs the matching key: every
    # tenant query would see nothing.
    with override_settings(SECRET_KEY="another-secret-key-" * 4):
        response = client.get("/readyz")
    assert response.status_code == 503
    [problem] = response.json()["checks"]["database"]["problems"]
    assert "signatures" in problem


def test_readyz_is_503_when_redis_is_unreachable(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_request_ids_are_made_or_accepted_and_returned(client):
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    # Anything that could forge log lines or headers is replaced, not echoed.
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" injected')["X-Request-ID"]
    assert forged != 'x" injected' and len(forged) == 32


def test_logs_are_one_json_object_per_line_with_the_request_id(client):
    root = logging.getLogger()
    configured = root.handlers[0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        handler.addFilter(log_filter)
    root.addHandler(handler)
    try:
        client.get("/healthz", HTTP_X_REQUEST_ID="trace-42")
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [request_line] = [line for line in lines if line["logger"] == "config.request"]
    assert request_line["request_id"] == "trace-42"
    assert request_line["status"] == 200 and request_line["path"] == "/healthz"
    assert request_line["level"] == "INFO" and "time" in request_line


def test_the_api_schema_is_served(client, django_user_model):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi" in response.content


def test_invitation_tokens_never_reach_the_request_log(client):
    root = logging.getLogger()
    configured = root.handlers[0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        handler.addFilter(log_filter)
    root.addHandler(handler)
    try:
        client.get("/i/SecretTokenValue1234567890abcdefghijklmnopq")  # 404 is logged too
    finally:
        root.removeHandler(handler)
    assert "SecretTokenValue" not in stream.getvalue()
    assert '"path": "/i/<token>"' in stream.getvalue()


def test_bearer_credentials_never_reach_the_log():
    from config.logging import RequestContextFilter

    record = logging.LogRecord(
        "websockets.client",
        logging.DEBUG,
        __file__,
        1,
        "> %s: %s",
        ("Authorization", "Bearer sk-live-SECRET123"),
        None,
    )
    RequestContextFilter().filter(record)
    assert record.getMessage() == "> Authorization: Bearer <redacted>"
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "headers {'authorization': 'bearer abc.def-1'}", (), None
    )
    RequestContextFilter().filter(record)
    assert "abc.def-1" not in record.getMessage() and "<redacted>" in record.getMessage()


def test_bearer_credentials_are_taken_out_of_mapping_arguments_and_extra_fields():
    from config.logging import RequestContextFilter

    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "sent %(auth)s", ({"auth": "Bearer sk-1"},), None
    )
    record.error = "401 for Authorization: Bearer sk-2"
    RequestContextFilter().filter(record)
    assert record.getMessage() == "sent Bearer <redacted>"
    assert record.error == "401 for Authorization: Bearer <redacted>"


def test_tracebacks_in_the_log_carry_no_bearer_credentials():
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    try:
        try:
            raise RuntimeError("upstream said: bad header Authorization: Bearer sk-live-XYZ")
        except RuntimeError:
            logging.getLogger("tests").exception("call failed")
    finally:
        root.removeHandler(handler)
    assert "sk-live-XYZ" not in stream.getvalue()
    assert "Bearer <redacted>" in stream.getvalue()
