"""The SDP proxy against a fake of the provider that speaks its real HTTP protocol."""

import asyncio
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command
from django.test import Client

from core import asyncdb, rls
from interviews import services
from interviews.models import InterviewSession, SessionEvent
from interviews.session_config import TOOL_NAMES
from live.tokens import session_token_issue
from tenants.models import Tenant
from tests.factories import CriterionFactory, QuestionFactory, SessionFactory, UserFactory
from tests.support.realtime import FakeUpstream

# The view's database work runs on its own connections: data must be committed to be seen.
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
    with rls.bypass_context():  # the page reported the first call connected
        InterviewSession.objects.filter(pk=session.pk).update(connection_state="connected")
    assert post_offer(session).status_code == 201
    assert stored(session).provider_call_id == "rtc_0002"
    # Nobody has connected to the new call yet: the sideband waits for the page to say so.
    assert stored(session).connection_state == ""
    assert upstream.hangups == ["rtc_0001"]


def status_changes(session):
    with rls.tenant_context(session.tenant_id):
        return list(
            SessionEvent.objects.filter(session_id=session.pk, kind="status_changed")
            .order_by("created_at")
            .values_list("data", flat=True)
        )


def test_connecting_is_recorded_on_the_timeline(upstream, session):
    assert post_offer(session).status_code == 201
    first = stored(session)
    assert first.status == "connecting" and first.provider == "openai"
    assert first.model == "gpt-realtime" and first.voice == "cedar"
    assert first.connecting_at is not None and first.last_heartbeat_at == first.connecting_at
    assert post_offer(session).status_code == 201
    assert status_changes(session) == [
        {"from": "pending", "to": "connecting", "call_id": "rtc_0001"},
        {"from": "connecting", "to": "connecting", "call_id": "rtc_0002", "replaces": "rtc_0001"},
    ]


def test_a_session_ended_while_the_provider_answers_gets_409_and_the_call_is_hung_up(
    upstream, session
):
    upstream.mode = "hang"  # answers once released
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post_offer, session)
        deadline = time.monotonic() + 5
        while not upstream.requests:
            assert time.monotonic() < deadline, "the offer never reached the provider"
            time.sleep(0.01)
        with rls.bypass_context():
            InterviewSession.objects.filter(pk=session.pk).update(status="completed")
        upstream.served.thread.loop.call_soon_threadsafe(upstream.released.set)
        response = pending.result(10)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session_not_connectable"
    assert upstream.hangups == ["rtc_0001"]
    after = stored(session)
    assert (after.status, after.provider_call_id) == ("completed", "")
    assert status_changes(session) == []


def test_a_database_outage_is_503_before_going_upstream(upstream, session, settings, monkeypatch):
    # The async pool pointed at a port where no database listens.
    monkeypatch.setattr(asyncdb, "conninfo", lambda: "host=127.0.0.1 port=1 dbname=x user=x")
    settings.DATABASE_ASYNC_POOL_TIMEOUT_SECONDS = 0.5
    response = post_offer(session)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response["Retry-After"] == "2"
    assert upstream.requests == []


def test_a_call_that_cannot_be_recorded_is_hung_up(upstream, session, settings):
    """The session row stays locked by another transaction past the statement time limit."""
    settings.DATABASE_ASYNC_STATEMENT_TIMEOUT_MS = 200
    upstream.mode = "hang"  # answers once released
    with (
        psycopg.connect(asyncdb.conninfo()) as holder,
        ThreadPoolExecutor(1) as pool,
    ):
        pending = pool.submit(post_offer, session)
        deadline = time.monotonic() + 5
        while not upstream.requests:
            assert time.monotonic() < deadline, "the offer never reached the provider"
            time.sleep(0.01)
        (identity,) = holder.execute(rls.CONNECTION_IDENTITY_SQL).fetchone()
        signed = rls.sign(rls.TENANT, str(session.tenant_id), identity)
        holder.execute("SELECT set_config(%s, %s, true)", [rls.TENANT, signed])
        holder.execute(
            "SELECT 1 FROM interviews_interviewsession WHERE id = %s FOR UPDATE", [session.pk]
        )
        upstream.served.thread.loop.call_soon_threadsafe(upstream.released.set)
        response = pending.result(10)
        holder.rollback()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert upstream.hangups == ["rtc_0001"]
    assert stored(session).status == "pending"


def test_the_offer_carries_the_configuration_the_session_was_created_with(upstream, tenant_a):
    from interviews.services import session_create
    from tests.factories import CandidateFactory, ConsentFactory, TemplateFactory

    template = TemplateFactory(tenant=tenant_a)
    QuestionFactory(template=template, tenant=tenant_a, text="Before?", position=1)
    candidate = CandidateFactory(tenant=tenant_a, user=UserFactory())
    consent = ConsentFactory(candidate=candidate, tenant=tenant_a)
    with rls.tenant_context(tenant_a.pk):
        session = session_create(candidate=candidate, template=template, consent=consent)
    QuestionFactory(template=template, tenant=tenant_a, text="Added later?", position=2)
    assert post_offer(session).status_code == 201
    instructions = json.loads(upstream.requests[0]["parts"]["session"]["body"])["instructions"]
    assert "Before?" in instructions and "Added later?" not in instructions


@pytest.mark.parametrize("status", [500, 502, 503])
def test_upstream_failures_are_502_to_try_again(upstream, session, status, caplog):
    upstream.mode = status
    response = post_offer(session)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert "Retry-After" not in response
    assert stored(session).status == "pending"
    with rls.tenant_context(session.tenant_id):
        [event] = SessionEvent.objects.filter(kind="provider.call_failed")
    assert event.data == {"code": "bad_thing", "status": status}
    assert KEY not in response.content.decode() and KEY not in caplog.text


def ours(caplog):
    """The proxy's own log lines (Django adds its own for every 5xx answer)."""
    return [r for r in caplog.records if r.name == "live.api"]


@pytest.mark.parametrize(
    "status,code",
    [
        (401, "invalid_api_key"),
        (403, "model_not_found"),
        (400, "model_not_found"),  # a known code decides, whatever the status
        (404, "unknown_url"),  # OPENAI_BASE_URL is not the provider's
        (400, "billing_hard_limit_reached"),
        (429, "insufficient_quota"),  # no credit left: waiting will not bring it back
    ],
)
def test_a_configuration_error_stops_at_once_and_alerts_the_operators(
    upstream, session, status, code, caplog
):
    upstream.mode, upstream.code = status, code
    with caplog.at_level(logging.WARNING):
        response = post_offer(session)
    assert response.status_code == 500
    error = response.json()["error"]
    # The candidate hears that the company knows, not the provider's code.
    assert error == {
        "code": "interviewer_not_configured",
        "message": "The interview can't start right now; we've told the company.",
    }
    assert code not in response.content.decode()
    assert "Retry-After" not in response
    [record] = [r for r in ours(caplog) if r.levelno == logging.ERROR]
    assert (record.code, record.status) == (code, status)
    with rls.tenant_context(session.tenant_id):
        [event] = SessionEvent.objects.filter(kind="provider.misconfigured")
    assert event.data == {"code": code, "status": status}
    assert stored(session).status == "pending"
    assert KEY not in response.content.decode() and KEY not in caplog.text


@pytest.mark.parametrize(
    "status,code", [(400, "invalid_offer"), (400, "invalid_value"), (422, "upstream_rejected")]
)
def test_a_refusal_of_this_one_call_is_an_upstream_error_not_a_configuration_error(
    upstream, session, status, code, caplog
):
    """A 400 about this browser's offer says nothing about the platform: the page tries
    again, and neither the operators nor the company are told the interviewer is broken."""
    upstream.mode, upstream.code = status, code
    with caplog.at_level(logging.WARNING):
        response = post_offer(session)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert [r.levelno for r in ours(caplog)] == [logging.WARNING]
    with rls.tenant_context(session.tenant_id):
        kinds = list(SessionEvent.objects.values_list("kind", flat=True))
        [event] = SessionEvent.objects.filter(kind="provider.call_failed")
    assert "provider.misconfigured" not in kinds
    assert event.data == {"code": code, "status": status}


@pytest.mark.parametrize(
    "headers,wait",
    [
        ({"Retry-After": "20"}, "20"),
        ({"retry-after-ms": "1500"}, "2"),  # OpenAI's own header, in whole seconds up
        ({}, None),  # not said: the page's own backoff
    ],
)
def test_a_rate_limit_passes_on_how_long_to_wait(upstream, session, headers, wait, caplog):
    upstream.mode, upstream.code, upstream.headers = 429, "rate_limit_exceeded", headers
    with caplog.at_level(logging.WARNING):
        response = post_offer(session)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "upstream_rate_limited"
    assert response.get("Retry-After") == wait
    assert [r.levelno for r in ours(caplog)] == [logging.WARNING]
    with rls.tenant_context(session.tenant_id):
        [event] = SessionEvent.objects.filter(kind="provider.call_failed")
    assert event.data == {"code": "rate_limit_exceeded", "status": 429}


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


def test_a_suspended_company_starts_no_interview_but_a_live_one_reconnects(
    upstream, session, tenant_a
):
    with rls.bypass_context():
        Tenant.objects.filter(pk=tenant_a.pk).update(status="suspended")
    response = post_offer(session)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_suspended"
    assert upstream.requests == [] and stored(session).status == "pending"
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(status="live")
    assert post_offer(session).status_code == 201


def test_in_maintenance_no_interview_starts_but_a_live_one_reconnects(upstream, session):
    call_command("maintenance", "on", "--message", "Back at two.", "--retry-after", "300")
    response = post_offer(session)
    assert response.status_code == 503 and response["Retry-After"] == "300"
    assert response.json()["error"] == {"code": "maintenance", "message": "Back at two."}
    assert upstream.requests == [] and stored(session).status == "pending"
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(status="live")
    assert post_offer(session).status_code == 201


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


def test_the_candidate_api_as_daphne_serves_it(upstream, session):
    """Through the ASGI application: the SDP proxy (an async view, no per-request thread)
    and a sync view of the same API (with Django's per-request thread) side by side."""
    from channels.testing import HttpCommunicator

    from config import asgi

    base = f"/api/candidate/sessions/{session.pk}"
    assert asgi._is_async_view(f"{base}/sdp/")
    assert not asgi._is_async_view(f"{base}/status/")
    assert not asgi._is_async_view("/api/candidate/nowhere/")
    headers = [(b"host", b"localhost"), (b"authorization", f"Bearer {token_for(session)}".encode())]

    async def scenario():
        offer = HttpCommunicator(
            asgi.application,
            "POST",
            f"{base}/sdp/",
            body=OFFER.encode(),
            headers=[
                *headers,
                (b"content-type", b"application/sdp"),
                (b"content-length", str(len(OFFER.encode())).encode()),
            ],
        )
        answered = await offer.get_response(timeout=10)
        status = HttpCommunicator(asgi.application, "GET", f"{base}/status/", headers=headers)
        return answered, await status.get_response(timeout=10)

    answered, status = async_to_sync(scenario)()
    assert answered["status"] == 201, answered["body"][:300]
    assert answered["body"].decode() == FakeUpstream.ANSWER
    assert status["status"] == 200 and json.loads(status["body"])["status"] == "connecting"


def test_a_browser_that_leaves_while_the_call_is_recorded_leaves_no_call_unknown(
    upstream, session, monkeypatch
):
    """Django cancels a view when its client disconnects; the call the provider has just
    created must still be recorded (or hung up), not dropped half way."""
    from channels.testing import ApplicationCommunicator

    from config import asgi

    record = services.session_connect_async

    async def scenario():
        reached, release = asyncio.Event(), asyncio.Event()

        async def slow_record(*args, **kwargs):
            reached.set()
            await release.wait()
            return await record(*args, **kwargs)

        monkeypatch.setattr(services, "session_connect_async", slow_record)
        body = OFFER.encode()
        browser = ApplicationCommunicator(
            asgi.application,
            {
                "type": "http",
                "http_version": "1.1",
                "method": "POST",
                "path": f"/api/candidate/sessions/{session.pk}/sdp/",
                "query_string": b"",
                "headers": [
                    (b"host", b"localhost"),
                    (b"authorization", f"Bearer {token_for(session)}".encode()),
                    (b"content-type", b"application/sdp"),
                    (b"content-length", str(len(body)).encode()),
                ],
            },
        )
        await browser.send_input({"type": "http.request", "body": body})
        await asyncio.wait_for(reached.wait(), 10)
        await browser.send_input({"type": "http.disconnect"})
        await browser.wait(timeout=5)  # the view was cancelled and the request is over
        release.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while (await sync_to_async(stored)(session)).provider_call_id != "rtc_0001":
            assert loop.time() < deadline, "the new call was never recorded"
            await asyncio.sleep(0.02)

    async_to_sync(scenario)()
    assert stored(session).status == "connecting"
