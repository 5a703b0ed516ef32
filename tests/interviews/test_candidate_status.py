"""A candidate's status follows their progress: invited, interviewing, interviewed, then the
recruiter's decision - through services, in the audit trail, and never backwards by itself."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core import rls
from interviews.models import Candidate, CandidateStatus, InterviewSession, SessionStatus
from interviews.services import (
    PipelineEvent,
    candidate_status_after,
    session_end,
    session_mark_live,
    session_record_decision,
    session_transition,
)
from invitations.services import invitation_issue
from live.tasks import expire_stale_sessions
from tenants.models import AuditEvent
from tests.factories import CandidateFactory, SessionFactory, TemplateFactory

pytestmark = pytest.mark.django_db

C = CandidateStatus
E = PipelineEvent


def status_of(candidate) -> str:
    with rls.tenant_context(candidate.tenant_id):
        return Candidate.objects.get(pk=candidate.pk).status


def status_changes(tenant) -> list[tuple[str, str, str]]:
    with rls.tenant_context(tenant.pk):
        return [
            (d["status"]["from"], d["status"]["to"], d.get("because", ""))
            for d in AuditEvent.objects.filter(action="candidate.changed")
            .order_by("created_at")
            .values_list("details", flat=True)
        ]


@pytest.mark.parametrize(
    "current,event,rule,expected",
    [
        (C.NEW, E.INVITED, {}, C.INVITED),
        (C.REJECTED, E.INVITED, {}, C.INVITED),  # a new round, on purpose
        (C.WITHDRAWN, E.INVITED, {}, C.INVITED),
        (C.INTERVIEWING, E.INVITED, {}, C.INTERVIEWING),  # an interview is under way
        (C.INVITED, E.INTERVIEW_STARTED, {}, C.INTERVIEWING),
        (C.NEW, E.INTERVIEW_STARTED, {}, C.INTERVIEWING),
        (C.ADVANCED, E.INTERVIEW_STARTED, {}, C.ADVANCED),
        (C.INTERVIEWING, E.INTERVIEW_ENDED, {}, C.INTERVIEWED),
        (C.INVITED, E.INTERVIEW_ENDED, {}, C.INTERVIEWED),
        (C.ADVANCED, E.INTERVIEW_ENDED, {}, C.ADVANCED),  # never backwards by itself
        (C.REJECTED, E.INTERVIEW_ENDED, {}, C.REJECTED),
        (C.WITHDRAWN, E.INTERVIEW_ENDED, {}, C.WITHDRAWN),
        (C.INTERVIEWED, E.DECIDED, {"decision": "advance"}, C.ADVANCED),
        (C.INTERVIEWED, E.DECIDED, {"decision": "hold"}, C.ON_HOLD),
        (C.ADVANCED, E.DECIDED, {"decision": "reject", "previous_decision": "advance"}, C.REJECTED),
        (C.ADVANCED, E.DECIDED, {"decision": "", "previous_decision": "advance"}, C.INTERVIEWED),
        (C.WITHDRAWN, E.DECIDED, {"decision": "", "previous_decision": "advance"}, C.WITHDRAWN),
    ],
)
def test_the_rule_for_each_event(current, event, rule, expected):
    assert candidate_status_after(current, event, **rule) == expected


def test_a_whole_interview_moves_the_candidate_along_and_the_trail_says_why(tenant_a):
    from tests.factories import UserFactory

    recruiter = UserFactory(is_staff=True)
    candidate = CandidateFactory(tenant=tenant_a)
    template = TemplateFactory(tenant=tenant_a)
    with rls.tenant_context(tenant_a.pk):
        invitation_issue(candidate=candidate, template=template, actor=recruiter, send=False)
    assert status_of(candidate) == C.INVITED

    session = SessionFactory(tenant=tenant_a, candidate=candidate, template=template)
    with rls.tenant_context(tenant_a.pk):
        session_transition(session=session, to=SessionStatus.CONNECTING)
        assert status_of(candidate) == C.INVITED  # connecting is not yet an interview
        session_mark_live(session=session, by="sideband")
        assert status_of(candidate) == C.INTERVIEWING
        session_end(session=session, reason="interview_complete")
        assert status_of(candidate) == C.INTERVIEWED
        session_record_decision(session=session, decision="advance", actor=recruiter)
    assert status_of(candidate) == C.ADVANCED
    assert status_changes(tenant_a) == [
        ("new", "invited", E.INVITED),
        ("invited", "interviewing", E.INTERVIEW_STARTED),
        ("interviewing", "interviewed", E.INTERVIEW_ENDED),
        ("interviewed", "advanced", E.DECIDED),
    ]


def test_the_candidates_list_shows_the_decision(recruiter_client, tenant_a):
    session = SessionFactory(
        tenant=tenant_a, candidate__status=C.INVITED, status=SessionStatus.LIVE
    )
    with rls.tenant_context(tenant_a.pk):
        session_transition(session=session, to=SessionStatus.COMPLETED)
    recruiter_client.post(
        reverse("admin:interviews_interviewsession_changelist"),
        {"action": "decide_advance", "_selected_action": [session.pk]},
    )
    page = recruiter_client.get(reverse("admin:interviews_candidate_changelist"))
    assert '<td class="field-status">Advanced</td>' in page.content.decode()


def test_a_stale_session_expiring_late_leaves_the_decision(tenant_a):
    session = SessionFactory(
        tenant=tenant_a,
        candidate__status=C.ADVANCED,
        status=SessionStatus.LIVE,
        started_at=timezone.now() - timedelta(hours=1),
        last_heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    assert expire_stale_sessions() == 1
    with rls.tenant_context(tenant_a.pk):
        assert InterviewSession.objects.get(pk=session.pk).status == SessionStatus.ABANDONED
    assert status_of(session.candidate) == C.ADVANCED
    assert status_changes(tenant_a) == []


def test_an_interview_cut_short_after_it_started_is_interviewed(tenant_a):
    session = SessionFactory(
        tenant=tenant_a,
        candidate__status=C.INTERVIEWING,
        status=SessionStatus.LIVE,
        started_at=timezone.now() - timedelta(minutes=5),
    )
    with rls.tenant_context(tenant_a.pk):
        session_end(session=session, reason="no_heartbeat", status=SessionStatus.ABANDONED)
    assert status_of(session.candidate) == C.INTERVIEWED


def test_a_session_that_never_started_changes_nothing(tenant_a):
    session = SessionFactory(tenant=tenant_a, candidate__status=C.INVITED)
    with rls.tenant_context(tenant_a.pk):
        session_end(session=session, reason="expired", status=SessionStatus.ABANDONED)
    assert status_of(session.candidate) == C.INVITED


def test_re_inviting_a_rejected_candidate_starts_a_new_round(tenant_a):
    candidate = CandidateFactory(tenant=tenant_a, status=C.REJECTED)
    template = TemplateFactory(tenant=tenant_a)
    with rls.tenant_context(tenant_a.pk):
        invitation_issue(candidate=candidate, template=template, actor=None, send=False)
    assert status_of(candidate) == C.INVITED


def test_clearing_a_decision_takes_the_candidate_back_to_interviewed(tenant_a):
    session = SessionFactory(
        tenant=tenant_a, candidate__status=C.INTERVIEWED, status=SessionStatus.COMPLETED
    )
    with rls.tenant_context(tenant_a.pk):
        session_record_decision(session=session, decision="reject", actor=None)
        assert status_of(session.candidate) == C.REJECTED
        session_record_decision(session=session, decision="", actor=None)
    assert status_of(session.candidate) == C.INTERVIEWED
