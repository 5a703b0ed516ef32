import itertools

import pytest

from core import rls
from interviews.models import SESSION_TRANSITIONS, InterviewSession, SessionEvent, SessionStatus
from interviews.services import IllegalTransition, session_end, session_transition
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

S = SessionStatus
ALLOWED = {
    (S.PENDING, S.CONNECTING),
    (S.PENDING, S.ABANDONED),
    (S.PENDING, S.FAILED),
    (S.CONNECTING, S.CONNECTING),
    (S.CONNECTING, S.LIVE),
    (S.CONNECTING, S.COMPLETED),
    (S.CONNECTING, S.ABANDONED),
    (S.CONNECTING, S.FAILED),
    (S.LIVE, S.CONNECTING),
    (S.LIVE, S.COMPLETED),
    (S.LIVE, S.ABANDONED),
    (S.LIVE, S.FAILED),
}


def test_the_table_is_the_documented_machine():
    table = {(a, b) for a, targets in SESSION_TRANSITIONS.items() for b in targets}
    assert table == ALLOWED
    assert set(SESSION_TRANSITIONS) == set(S.values)


@pytest.mark.parametrize("current,target", list(itertools.product(S.values, S.values)))
def test_every_transition_is_allowed_or_refused_clearly(current, target):
    session = SessionFactory(status=current)
    with rls.tenant_context(session.tenant_id):
        if (current, target) in ALLOWED:
            session_transition(session=session, to=target)
            assert InterviewSession.objects.get(pk=session.pk).status == target
        else:
            with pytest.raises(IllegalTransition, match=f"from '{current}' to '{target}'"):
                session_transition(session=session, to=target)
            assert InterviewSession.objects.get(pk=session.pk).status == current


def test_a_full_interview_stamps_times_and_records_the_timeline():
    session = SessionFactory()
    with rls.tenant_context(session.tenant_id):
        for status in (S.CONNECTING, S.LIVE, S.COMPLETED):
            session_transition(session=session, to=status, reason="")
        session.refresh_from_db()
        assert session.connecting_at <= session.started_at <= session.ended_at
        assert session.duration_seconds is not None
        kinds = list(
            SessionEvent.objects.filter(session=session).values_list("data__to", flat=True)
        )
        assert kinds == ["connecting", "live", "completed"]


def test_the_check_uses_the_stored_status_not_a_stale_object():
    session = SessionFactory(status=S.LIVE)
    stale = InterviewSession(pk=session.pk, tenant_id=session.tenant_id, status=S.PENDING)
    with rls.tenant_context(session.tenant_id):
        session_transition(session=session, to=S.COMPLETED, reason="interview_complete")
        with pytest.raises(IllegalTransition):
            session_transition(session=stale, to=S.CONNECTING)
        session.refresh_from_db()
        assert session.end_reason == "interview_complete"


@pytest.mark.parametrize(
    "path,ended",
    [
        ((S.CONNECTING,), S.ABANDONED),  # never went live
        ((S.CONNECTING, S.LIVE), S.COMPLETED),
        ((S.CONNECTING, S.LIVE, S.CONNECTING), S.COMPLETED),  # ended while reconnecting
    ],
)
def test_ending_is_completed_once_the_interview_has_started(path, ended):
    session = SessionFactory()
    with rls.tenant_context(session.tenant_id):
        for status in path:
            session_transition(session=session, to=status)
        stale = InterviewSession.objects.get(pk=session.pk)
        stale.started_at = None  # the stored row decides, not the caller's copy
        assert session_end(session=stale, reason="interview_complete") is True
        session.refresh_from_db()
        assert (session.status, session.end_reason) == (ended, "interview_complete")
        assert session_end(session=session, reason="candidate_ended") is False
