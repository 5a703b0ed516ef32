"""The SDP proxy's asynchronous database steps (services.session_connect_target and
session_connect_async): the same lookup and the same state machine as the synchronous path."""

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from core import rls
from interviews import selectors
from interviews.models import InterviewSession, SessionEvent, SessionStatus
from interviews.services import (
    ConnectTarget,
    IllegalTransition,
    SessionNotFound,
    session_connect_async,
    session_connect_target,
    session_transition,
)
from tests.factories import SessionFactory, UserFactory

# The statements run on core.asyncdb's own connections: data must be committed to be seen.
pytestmark = pytest.mark.django_db(transaction=True)

CALL = {"provider": "openai", "model": "gpt-realtime", "voice": "cedar"}


@pytest.fixture
def session(tenant_a):
    return SessionFactory(tenant=tenant_a, candidate__user=UserFactory())


def status_changes(session):
    with rls.tenant_context(session.tenant_id):
        return list(
            SessionEvent.objects.filter(session_id=session.pk, kind="status_changed")
            .order_by("created_at")
            .values_list("data", flat=True)
        )


def test_recording_a_call_is_safe_to_repeat(session):
    target = async_to_sync(session_connect_target)(
        session_id=str(session.pk),
        user_id=session.candidate.user_id,
        tenant_id=str(session.tenant_id),
    )
    record = async_to_sync(session_connect_async)
    assert record(target, call_id="rtc_1", **CALL) == ""
    assert record(target, call_id="rtc_1", **CALL) == ""  # e.g. resent after a dropped link
    assert len(status_changes(session)) == 1
    assert record(target, call_id="rtc_2", **CALL) == "rtc_1"
    assert record(target, call_id="rtc_2", **CALL) == "rtc_1"  # still to be hung up
    assert len(status_changes(session)) == 2


def test_the_connect_path_sees_only_the_tokens_tenant(session, tenant_b):
    # The statements name no tenant: row-level security alone keeps other tenants out.
    with pytest.raises(SessionNotFound):
        async_to_sync(session_connect_target)(
            session_id=str(session.pk),
            user_id=session.candidate.user_id,
            tenant_id=str(tenant_b.pk),
        )


@pytest.mark.parametrize("whose", ["theirs", "another user's"])
@pytest.mark.parametrize("tenant", ["the session's", "another"])
def test_the_asynchronous_lookup_finds_what_the_selector_finds(session, tenant_b, whose, tenant):
    user_id = session.candidate.user_id if whose == "theirs" else UserFactory().pk
    tenant_id = str(session.tenant_id if tenant == "the session's" else tenant_b.pk)
    found = selectors.session_for_candidate(session.pk, user_id, tenant_id=tenant_id)
    found_async = async_to_sync(selectors.session_for_candidate_async)(
        session_id=str(session.pk), user_id=user_id, tenant_id=tenant_id
    )
    assert (found is None) == (found_async is None)
    assert (found is None) == (whose != "theirs" or tenant != "the session's")
    if found is not None:
        assert found_async == (found.status, found.realtime_config)


def _moved_to_connecting(session, *, new_call, old_call):
    """What the move left behind, with the session's own call ids named alike."""
    names = {new_call: "new call", old_call: "old call"}
    row = InterviewSession.objects.values(
        "status", "connecting_at", "started_at", "ended_at", "end_reason", "candidate__status"
    ).get(pk=session.pk)
    with rls.tenant_context(session.tenant_id):
        events = list(
            SessionEvent.objects.filter(session_id=session.pk)
            .order_by("created_at")
            .values_list("kind", "data")
        )
    events = [
        (kind, {key: names.get(value, value) for key, value in data.items()})
        for kind, data in events
    ]
    return row, events


@pytest.mark.parametrize("status", SessionStatus.values)
def test_connecting_in_one_statement_is_session_transition_to_connecting(status):
    """For every status the session may be in, the SDP proxy's statement and
    session_transition accept or refuse the move alike, and leave the same row and timeline."""
    at = timezone.now()
    moved = {}
    for path in ("session_transition", "one statement"):
        old_call = f"rtc_old_{path}" if status in ("connecting", "live") else ""
        new_call = f"rtc_new_{path}"
        session = SessionFactory(status=status, provider_call_id=old_call)
        try:
            if path == "session_transition":
                replaces = {"replaces": old_call} if old_call else {}
                with rls.tenant_context(session.tenant_id):
                    session_transition(
                        session=session,
                        to="connecting",
                        at=at,
                        data={"call_id": new_call, **replaces},
                    )
            else:
                target = ConnectTarget(
                    session_id=str(session.pk), tenant_id=str(session.tenant_id), config={}
                )
                async_to_sync(session_connect_async)(target, call_id=new_call, at=at, **CALL)
            accepted = True
        except IllegalTransition:
            accepted = False
        with rls.bypass_context():
            moved[path] = (
                accepted,
                _moved_to_connecting(session, new_call=new_call, old_call=old_call),
            )
    assert moved["one statement"] == moved["session_transition"]
    assert moved["one statement"][0] == (status in ("pending", "connecting", "live"))
