"""The SDP proxy against a fake of the provider that speaks its real HTTP protocol."""

import json
import logging

import pytest
from django.test import Client

from interviews.models import InterviewSession, SessionEvent
from interviews.realtime.session_config import TOOL_NAMES
from interviews.tokens import session_token_issue
from tenants import rls
from tests.factories import CriterionFactory, QuestionFactory, SessionFactory, UserFactory
from tests.support.realtime import FakeUpstream

# The view's database work runs on worker threads: data must be committed to be seen.
pytestmark = pytest.mark.django_db(transaction=True)

KEY = "sk-proj-" + "A1b2C3d4" * 6
OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
)


@pytest.fixture
def upstream(settings):
    fake = FakeUpstream()
    settings.OPENAI_BASE_URL = fake.base_url
    settings.OPENAI_API_KEY = KEY
    settings.REALTIME_TIMEOUT_SECONDS = 1.0
    yield fake
    fake.close()


@pytest.fixture
def session(tenant_a):
    user = UserFactory(email="ada@example.com")
    session = SessionFactory(
        tenant=tenant_a,
        candidate__user=user,
        template__voice="cedar",
        template__max_duration_minutes=20,
    )
    QuestionFactory(template=session.template, tenant=tenant_a, text="Why us?", position=1)
    QuestionFactory(template=session.template, tenant=tenant_a, text="A hard bug?", position=2)
    CriterionFactory(template=session.template, tenant=tenant_a, name="Debugging")
    return session


def token_for(session):
    return session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )


def post_offer(session, body=OFFER, content_type="application/sdp", token=None, url_id=None):
    return Client().post(
        f"/api/candidate/sessions/{url_id or session.pk}/sdp/",
        data=body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token or token_for(session)}",
    )


def stored(session):
    with rls.tenant_context(session.tenant_id):
        return InterviewSession.objects.get(pk=session.pk)


def test_the_offer_goes_upstream_with_the_servers_config(upstream, session):
    response = post_offer(session)
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/sdp"
    assert response.content.decode() == FakeUpstream.ANSWER

    [request] = upstream.requests
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    parts = request["parts"]
    assert parts["sdp"]["body"] == OFFER.encode()  # byte for byte, CRLF kept
    assert parts["sdp"]["content_type"] == "application/sdp"
    assert parts["sdp"]["filename"] is None and parts["session"]["filename"] is None
    assert parts["session"]["content_type"] == "application/json"
    config = json.loads(parts["session"]["body"])
    assert config["type"] == "realtime" and config["model"] == "gpt-realtime"
    assert "1. Why us?" in config["instructions"] and "2. A hard bug?" in config["instructions"]
    assert "Debugging" in config["instructions"]
    assert config["audio"]["output"]["voice"] == "cedar"
    assert config["audio"]["input"]["transcription"]["model"]
    assert config["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
    }
    assert {tool["name"] for tool in config["tools"]} == TOOL_NAMES

    session = stored(session)
    assert session.status == "connecting" and session.provider_call_id == "rtc_0001"
    assert session.voice == "cedar"


def test_a_reconnect_moves_to_the_new_call_and_hangs_up_the_old(upstream, session):
    assert post_offer(session).status_code == 201
    assert post_offer(session).status_code == 201
    assert stored(session).provider_call_id == "rtc_0002"
    assert upstream.hangups == ["rtc_0001"]


@pytest.mark.parametrize("status", [400, 401, 403, 429, 500])
def test_upstream_errors_are_502_with_a_code(upstream, session, status, caplog):
    upstream.mode = status
    response = post_offer(session)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "bad_thing"
    assert stored(session).status == "pending"
    with rls.tenant_context(session.tenant_id):
        assert SessionEvent.objects.filter(kind="provider.call_failed").exists()
    assert KEY not in response.content.decode() and KEY not in caplog.text


def test_an_upstream_timeout_is_504(upstream, session):
    upstream.mode = "hang"
    response = post_offer(session)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


def test_an_unreachable_upstream_is_502(upstream, session, settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:1/v1"
    response = post_offer(session)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"


@pytest.mark.parametrize(
    "body,content_type,status,code",
    [
        ("hello", "application/sdp", 400, "parse_error"),
        ("v=0\r\nm=video 9\r\n", "application/sdp", 400, "parse_error"),
        (OFFER, "text/plain", 415, "unsupported_media_type"),
        (OFFER + "a=x\r\n" * 14000, "application/sdp", 413, "payload_too_large"),
    ],
)
def test_bad_input_is_refused_before_going_upstream(
    upstream, session, body, content_type, status, code
):
    response = post_offer(session, body=body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert upstream.requests == []


def test_an_ended_session_cannot_connect(upstream, session):
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(status="completed")
    response = post_offer(session)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session_not_connectable"
    assert upstream.requests == []


def test_the_token_opens_only_its_own_session(upstream, session, tenant_a):
    other = SessionFactory(tenant=tenant_a)
    assert post_offer(session, url_id=other.pk).status_code == 404
    assert post_offer(session, token="garbage").status_code == 401
    response = Client().post(
        f"/api/candidate/sessions/{session.pk}/sdp/", data=OFFER, content_type="application/sdp"
    )
    assert response.status_code == 401
    assert upstream.requests == []


def test_an_expired_token_is_refused(upstream, session, settings):
    token = token_for(session)
    settings.SESSION_TOKEN_TTL_SECONDS = -1
    response = post_offer(session, token=token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_the_key_never_reaches_logs_or_responses(upstream, session, caplog):
    caplog.set_level(logging.DEBUG)
    response = post_offer(session)
    assert KEY not in response.content.decode()
    assert KEY not in caplog.text
