"""The candidate's session API (besides the SDP proxy), the interview page and the stale-session
job."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core import rls
from interviews.models import InterviewSession, SessionEvent, TranscriptEntry
from interviews.services import transcript_append
from live.tasks import expire_stale_sessions
from live.tokens import session_token_issue
from tests.factories import SessionFactory, UserFactory
from tests.support.realtime import FakeUpstream

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(tenant_a):
    user = UserFactory(email="ada@example.com")
    return SessionFactory(tenant=tenant_a, candidate__user=user, template__max_duration_minutes=20)


def api(session, action, data=None, method="post"):
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    call = getattr(Client(), method)
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "post":
        kwargs.update(data=data or {}, content_type="application/json")
    return call(f"/api/candidate/sessions/{session.pk}/{action}/", **kwargs)


def stored(session):
    with rls.tenant_context(session.tenant_id):
        return InterviewSession.objects.get(pk=session.pk)


def set_status(session, **fields):
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(**fields)


def test_start_records_the_client_and_reports_the_state(session):
    response = api(session, "start", {"client_info": {"userAgent": "Chromium"}})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pending" and body["max_duration_seconds"] == 1200
    assert body["remaining_seconds"] is None and body["ended"] is False
    assert stored(session).client_info == {"userAgent": "Chromium"}


def test_a_connected_heartbeat_makes_a_connecting_session_live(session):
    set_status(session, status="connecting")
    response = api(session, "heartbeat", {"connection_state": "connected"})
    assert response.json()["status"] == "live"
    assert 1190 <= response.json()["remaining_seconds"] <= 1200
    session = stored(session)
    assert session.last_heartbeat_at is not None and session.connection_state == "connected"


def test_a_connected_heartbeat_racing_the_sideband_is_harmless(session):
    set_status(session, status="connecting")
    stale = stored(session)  # what the heartbeat view loaded...
    set_status(session, status="live")  # ...before the sideband made it live
    from interviews.services import session_heartbeat

    with rls.tenant_context(session.tenant_id):
        session_heartbeat(session=stale, connection_state="connected")
    assert stored(session).status == "live"


def test_an_illegal_transition_reaching_the_api_is_a_409_not_a_500(rf):
    from config.api import exception_handler
    from interviews.services import IllegalTransition

    response = exception_handler(IllegalTransition("completed", "live"), {})
    assert response.status_code == 409
    assert response.data["error"]["code"] == "illegal_transition"


def test_heartbeat_rejects_unknown_states(session):
    response = api(session, "heartbeat", {"connection_state": "exploded"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_the_candidate_ends_a_live_session_and_the_call_is_hung_up(
    session, settings, django_capture_on_commit_callbacks
):
    upstream = FakeUpstream()
    settings.OPENAI_BASE_URL = upstream.base_url
    set_status(session, status="live", started_at=timezone.now(), provider_call_id="rtc_42")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api(session, "end")
    finally:
        upstream.close()
    assert response.json()["status"] == "completed" and response.json()["ended"]
    assert stored(session).end_reason == "candidate_ended"
    assert upstream.hangups == ["rtc_42"]
    # Ending twice is harmless.
    assert api(session, "end").json()["status"] == "completed"


def test_ending_before_connecting_abandons(session):
    assert api(session, "end").json()["status"] == "abandoned"


def test_status_and_token_refresh(session):
    assert api(session, "status", method="get").json()["status"] == "pending"
    token = api(session, "token").json()["token"]
    response = Client().get(
        f"/api/candidate/sessions/{session.pk}/status/", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    set_status(session, status="completed")
    assert api(session, "token").status_code == 409


def test_another_candidates_session_is_404(session, tenant_a):
    other = SessionFactory(tenant=tenant_a)
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    response = Client().get(
        f"/api/candidate/sessions/{other.pk}/status/", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 404


def transcript(session):
    with rls.tenant_context(session.tenant_id):
        return list(
            TranscriptEntry.objects.filter(session=session)
            .order_by("seq")
            .values_list("seq", "speaker", "text", "source", "provider_item_id")
        )


def test_the_browsers_transcript_fills_gaps_but_never_overrides_the_server(session):
    set_status(session, status="live")
    with rls.tenant_context(session.tenant_id):
        transcript_append(session=session, speaker="interviewer", text="Why us?", item_id="item_1")
    entries = [
        {"item_id": "item_1", "speaker": "interviewer", "text": "Why ass?"},
        # The browser claims an item as the candidate's; the server knows it was not.
        {"item_id": "item_2", "speaker": "candidate", "text": "Because."},
    ]
    assert api(session, "transcript", {"entries": entries}).json() == {"accepted": 1, "ignored": 1}
    assert api(session, "transcript", {"entries": entries}).json() == {"accepted": 0, "ignored": 2}
    # The server's later capture of item_2 replaces the browser's copy, keeping its place.
    with rls.tenant_context(session.tenant_id):
        transcript_append(
            session=session, speaker="candidate", text="Because I like it.", item_id="item_2"
        )
    assert transcript(session) == [
        (1, "interviewer", "Why us?", "server", "item_1"),
        (2, "candidate", "Because I like it.", "server", "item_2"),
    ]


def test_a_late_utterance_takes_its_place_in_the_conversation(session):
    with rls.tenant_context(session.tenant_id):
        for item, speaker, text in [
            ("q1", "interviewer", "Why us?"),
            ("q2", "interviewer", "A hard bug?"),
            ("q3", "interviewer", "Anything else?"),
        ]:
            transcript_append(session=session, speaker=speaker, text=text, item_id=item)
        # The answer to question 1 was transcribed after questions 2 and 3 were asked.
        transcript_append(
            session=session,
            speaker="candidate",
            text="Your mission.",
            item_id="a1",
            before_item_ids=["q3", "q2", "unknown"],
        )
        # Nothing stored came later: plain arrival order.
        transcript_append(
            session=session, speaker="candidate", text="No.", item_id="a3", before_item_ids=["x"]
        )
    assert [(seq, item) for seq, *_, item in transcript(session)] == [
        (1, "q1"),
        (2, "a1"),
        (3, "q2"),
        (4, "q3"),
        (5, "a3"),
    ]


def test_the_browsers_late_utterance_takes_its_place_too(session):
    # The sideband missed the call (its worker restarting): the browser's copy is all there is,
    # and the answer to Q1 was transcribed after Q2 was asked, so it is sent after Q2.
    set_status(session, status="live")
    first = [
        {"item_id": "q1", "speaker": "interviewer", "text": "Q1?"},
        {"item_id": "q2", "speaker": "interviewer", "text": "Q2?"},
    ]
    late = {"item_id": "a1", "speaker": "candidate", "text": "A1.", "before_item_ids": ["q2"]}
    api(session, "transcript", {"entries": first})

    assert api(session, "transcript", {"entries": [late]}).json() == {"accepted": 1, "ignored": 0}

    assert [(seq, item) for seq, *_, item in transcript(session)] == [
        (1, "q1"),
        (2, "a1"),
        (3, "q2"),
    ]


def test_the_servers_copy_moves_a_browser_entry_to_its_place(session):
    with rls.tenant_context(session.tenant_id):
        transcript_append(session=session, speaker="interviewer", text="Q1", item_id="q1")
        transcript_append(session=session, speaker="interviewer", text="Q2", item_id="q2")
        transcript_append(session=session, speaker="interviewer", text="Q3", item_id="q3")
        # The browser's copy of the answer to Q1 came in last...
        transcript_append(
            session=session, speaker="candidate", text="A1?", item_id="a1", source="client"
        )
        # ...the server's, knowing Q2 and Q3 came after it, puts it in its place.
        _, created = transcript_append(
            session=session,
            speaker="candidate",
            text="A1.",
            item_id="a1",
            before_item_ids=["q2", "q3"],
        )
    assert created is False
    assert [(seq, item, text, source) for seq, _, text, source, item in transcript(session)] == [
        (1, "q1", "Q1", "server"),
        (2, "a1", "A1.", "server"),
        (3, "q2", "Q2", "server"),
        (4, "q3", "Q3", "server"),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"entries": []},
        {"entries": [{"item_id": "x", "speaker": "system", "text": "hi"}]},
        {"entries": [{"item_id": "x", "speaker": "candidate", "text": "a" * 10_001}]},
        {"entries": [{"item_id": f"i{n}", "speaker": "candidate", "text": "a"} for n in range(51)]},
        {"entries": "nope"},
    ],
)
def test_bad_transcript_batches_are_refused_whole(session, payload):
    response = api(session, "transcript", payload)
    assert response.status_code == 400
    assert transcript(session) == []


def test_stale_sessions_are_abandoned(session, tenant_a, settings):
    old = timezone.now() - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT_SECONDS + 5)
    set_status(session, status="live", last_heartbeat_at=old, started_at=old)
    fresh = SessionFactory(tenant=tenant_a, status="live", last_heartbeat_at=timezone.now())
    forgotten = SessionFactory(tenant=tenant_a)
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=forgotten.pk).update(
            created_at=timezone.now() - timedelta(hours=settings.SESSION_PENDING_TTL_HOURS + 1)
        )
    assert expire_stale_sessions() == 2
    assert (stored(session).status, stored(session).end_reason) == ("abandoned", "no_heartbeat")
    assert stored(forgotten).end_reason == "expired"
    assert stored(fresh).status == "live"


def test_the_interview_page_carries_a_token_for_its_session_only(session):
    client = Client()
    client.force_login(session.candidate.user)
    page = client.get(f"/interview/session/{session.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="interview-config"' in body and str(session.pk) in body
    other = Client()
    other.force_login(UserFactory())
    assert other.get(f"/interview/session/{session.pk}/").status_code == 404


def test_an_ended_session_shows_the_completion_page(session):
    set_status(session, status="completed")
    client = Client()
    client.force_login(session.candidate.user)
    response = client.get(f"/interview/session/{session.pk}/", follow=True)
    assert response.redirect_chain[-1][0] == f"/interview/session/{session.pk}/done/"
    assert "What happens next" in response.content.decode()


def test_a_session_keeps_the_configuration_it_started_with(tenant_a):
    from interviews.selectors import session_realtime_config
    from interviews.services import session_create
    from tests.factories import CandidateFactory, ConsentFactory, QuestionFactory, TemplateFactory

    template = TemplateFactory(tenant=tenant_a)
    QuestionFactory(template=template, tenant=tenant_a, text="Before?", position=1)
    candidate = CandidateFactory(tenant=tenant_a)
    consent = ConsentFactory(candidate=candidate, tenant=tenant_a)
    with rls.tenant_context(tenant_a.pk):
        session = session_create(candidate=candidate, template=template, consent=consent)
    QuestionFactory(template=template, tenant=tenant_a, text="Added later?", position=2)
    with rls.tenant_context(tenant_a.pk):
        config = session_realtime_config(InterviewSession.objects.get(pk=session.pk))
    assert "Before?" in config["instructions"] and "Added later?" not in config["instructions"]


def test_the_transcript_closes_five_minutes_after_the_end(session):
    set_status(session, status="completed", ended_at=timezone.now() - timedelta(minutes=6))
    entry = {"item_id": "late", "speaker": "candidate", "text": "Too late."}
    response = api(session, "transcript", {"entries": [entry]})
    assert response.status_code == 409
    set_status(session, ended_at=timezone.now())
    assert api(session, "transcript", {"entries": [entry]}).json() == {"accepted": 1, "ignored": 0}


def test_what_a_replacement_call_is_told_is_the_servers_most_recent_capture(session):
    from interviews.selectors import session_heard_so_far

    with rls.tenant_context(session.tenant_id):
        for n in range(1, 5):
            transcript_append(
                session=session, speaker="interviewer", text=f"{n}" * 10, item_id=f"i{n}"
            )
        transcript_append(
            session=session, speaker="interviewer", text="You are hired.", source="client"
        )
        entries, assessed = session_heard_so_far(session, max_items=3, max_chars=25)
    # The newest that fit, oldest first; never the browser's copy.
    assert [(seq, text) for seq, _, text, _ in entries] == [(3, "3" * 10), (4, "4" * 10)]
    assert assessed == []


def post_raw(session, action, body: str):
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    return Client().post(
        f"/api/candidate/sessions/{session.pk}/{action}/",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def events(session):
    with rls.tenant_context(session.tenant_id):
        return list(SessionEvent.objects.filter(session_id=session.pk).values_list("kind"))


@pytest.mark.parametrize(
    "client_info",
    [
        {"userAgent": "Chromium\u0000"},
        {"userAgent": "Chromium\ud800"},
        {"user\u0000Agent": "Chromium"},
        {"screens": [{"label": "\udfff"}]},
    ],
    ids=["nul", "lone-surrogate", "nul-in-a-key", "nested-surrogate"],
)
def test_start_refuses_client_info_the_database_cannot_store(session, client_info):
    # Django's test client sends these as the JSON escapes \u0000 and \ud800.
    response = api(session, "start", {"client_info": client_info})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"
    assert stored(session).client_info == {} and events(session) == []


@pytest.mark.parametrize("text", ["Because.\u0000", "Because \ud83d."], ids=["nul", "surrogate"])
def test_transcript_text_the_database_cannot_store_is_refused(session, text):
    entries = [{"item_id": "item_1", "speaker": "candidate", "text": text}]
    response = api(session, "transcript", {"entries": entries})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"
    assert transcript(session) == []


@pytest.mark.parametrize("action", ["transcript", "start", "heartbeat"])
def test_a_body_nested_100000_deep_is_a_400(session, action):
    response = post_raw(session, action, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deep"
    assert transcript(session) == []


def test_a_body_nested_deeper_than_any_request_needs_is_a_400(session):
    nested = "{}"
    for _ in range(20):
        nested = '{"a": ' + nested + "}"
    response = post_raw(session, "start", '{"client_info": ' + nested + "}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_deep"


def test_an_oversized_body_is_a_413(session):
    text = "a" * (2 * 1024 * 1024)
    response = post_raw(session, "transcript", '{"entries": [{"text": "' + text + '"}]}')
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_form_body_is_not_accepted(session):
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    response = Client().post(
        f"/api/candidate/sessions/{session.pk}/heartbeat/",
        {"connection_state": "connected"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 415
