"""Sessions (read with transcript, timeline, summary, video and decision), decisions and
invitations through the tenant API; every operation with another tenant's ids is a 404."""

import json

import pytest
from django.core import mail
from django.core.cache import cache

from core import rls
from interviews.models import Candidate, InterviewSession
from invitations.models import InterviewInvitation
from tests.factories import (
    CandidateFactory,
    InvitationFactory,
    SessionEventFactory,
    SessionFactory,
    SummaryFactory,
    TemplateFactory,
    TranscriptEntryFactory,
    VideoSegmentFactory,
)
from tests.tenant_api.support import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


@pytest.fixture
def interview(tenant_a):
    session = SessionFactory(tenant=tenant_a, status="completed")
    TranscriptEntryFactory(session=session, seq=1, speaker="interviewer", text="Why this role?")
    TranscriptEntryFactory(session=session, seq=2, speaker="candidate", text="I like data.")
    SessionEventFactory(session=session, kind="interviewer.started")
    SummaryFactory(session=session, status="ready", summary="Clear and structured.")
    VideoSegmentFactory(
        session=session, status="ready", duration_seconds=30, provider_video_id="vi1"
    )
    return session


def test_a_session_reads_with_transcript_timeline_video_summary_and_decision(acme_api, interview):
    body = acme_api.call("GET", f"sessions/{interview.pk}/").json()
    assert body["session"]["status"] == "completed"
    assert [e["text"] for e in body["transcript"]] == ["Why this role?", "I like data."]
    assert "interviewer.started" in [e["kind"] for e in body["timeline"]]
    assert body["summary"]["summary"] == "Clear and structured."
    [video] = body["video"]
    assert video["play_url"].endswith(f"/video/{video['id']}/") and "vi1" not in str(body)
    assert body["decision"] == {"decision": "", "note": "", "decided_at": None}


def test_the_summary_and_decision_need_their_scopes(tenant_a, interview):
    reader = make_client(tenant_a, scopes=["sessions:read"])
    body = reader.call("GET", f"sessions/{interview.pk}/").json()
    assert body["summary"] is None and body["decision"] is None
    assert body["transcript"]  # what sessions:read gives


def test_sessions_list_by_candidate_status_and_date(acme_api, interview, tenant_a):
    SessionFactory(tenant=tenant_a, status="pending")
    listed = acme_api.call("GET", f"sessions/?candidate={interview.candidate_id}").json()
    assert [s["id"] for s in listed["results"]] == [str(interview.pk)]
    assert len(acme_api.call("GET", "sessions/?status=pending").json()["results"]) == 1
    assert (
        acme_api.call("GET", "sessions/?created_after=2999-01-01T00:00:00Z").json()["results"] == []
    )
    for bad in ("status=sideways", "created_after=yesterday", "candidate=not-a-uuid"):
        assert acme_api.call("GET", f"sessions/?{bad}").status_code == 400, bad


def test_a_decision_is_recorded_and_the_candidate_follows(acme_api, interview, tenant_a):
    response = acme_api.call(
        "PUT", f"sessions/{interview.pk}/decision/", {"decision": "advance", "note": "Strong."}
    )
    assert response.status_code == 200
    assert response.json()["decision"] == "advance" and response.json()["decided_at"]
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get(pk=interview.pk)
        assert (session.decision, session.decision_note, session.decided_by) == (
            "advance",
            "Strong.",
            None,
        )
        assert Candidate.objects.get(pk=interview.candidate_id).status == "advanced"
    assert acme_api.call("GET", f"sessions/{interview.pk}/decision/").json()["decision"] == (
        "advance"
    )
    bad = acme_api.call("PUT", f"sessions/{interview.pk}/decision/", {"decision": "hire"})
    assert bad.status_code == 400


def test_recording_a_decision_needs_decisions_write(tenant_a, interview):
    reader = make_client(tenant_a, scopes=["decisions:read", "sessions:read"])
    response = reader.call("PUT", f"sessions/{interview.pk}/decision/", {"decision": "reject"})
    assert response.status_code == 403


def test_an_invitation_is_sent_resent_and_revoked(
    acme_api, tenant_a, django_capture_on_commit_callbacks
):
    candidate = CandidateFactory(tenant=tenant_a, email="ada@example.com")
    template = TemplateFactory(tenant=tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        created = acme_api.call(
            "POST", "invitations/", {"candidate": str(candidate.pk), "template": str(template.pk)}
        )
    assert created.status_code == 201, created.content
    invitation = created.json()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    read = acme_api.call("GET", f"invitations/{invitation['id']}/").json()
    assert read["status"] == "sent" and read["send_count"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        resent = acme_api.call("POST", f"invitations/{invitation['id']}/resend/")
    assert resent.status_code == 200 and len(mail.outbox) == 2
    revoked = acme_api.call("POST", f"invitations/{invitation['id']}/revoke/")
    assert revoked.json()["status"] == "revoked"
    again = acme_api.call("POST", f"invitations/{invitation['id']}/resend/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invitation_closed"
    listed = acme_api.call("GET", f"invitations/?candidate={candidate.pk}").json()["results"]
    assert [i["id"] for i in listed] == [invitation["id"]]


def test_an_inactive_template_cannot_be_invited_to(acme_api, tenant_a):
    candidate = CandidateFactory(tenant=tenant_a)
    template = TemplateFactory(tenant=tenant_a, is_active=False)
    response = acme_api.call(
        "POST", "invitations/", {"candidate": str(candidate.pk), "template": str(template.pk)}
    )
    assert response.status_code == 400
    with rls.tenant_context(tenant_a.pk):
        assert not InterviewInvitation.objects.exists()


def test_every_operation_with_another_tenants_ids_is_a_404(acme_api, tenant_a, tenant_b):
    theirs_session = SessionFactory(tenant=tenant_b, status="completed")
    theirs_invitation = InvitationFactory(tenant=tenant_b)
    theirs_template = TemplateFactory(tenant=tenant_b)
    theirs_candidate = theirs_session.candidate
    mine_candidate = CandidateFactory(tenant=tenant_a)
    mine_template = TemplateFactory(tenant=tenant_a)
    calls = [
        ("GET", f"candidates/{theirs_candidate.pk}/", None),
        ("PATCH", f"candidates/{theirs_candidate.pk}/", {"full_name": "x"}),
        ("DELETE", f"candidates/{theirs_candidate.pk}/", None),
        ("GET", f"templates/{theirs_template.pk}/", None),
        ("GET", f"sessions/{theirs_session.pk}/", None),
        ("GET", f"sessions/{theirs_session.pk}/decision/", None),
        ("PUT", f"sessions/{theirs_session.pk}/decision/", {"decision": "reject"}),
        ("GET", f"invitations/{theirs_invitation.pk}/", None),
        ("POST", f"invitations/{theirs_invitation.pk}/resend/", None),
        ("POST", f"invitations/{theirs_invitation.pk}/revoke/", None),
        (
            "POST",
            "invitations/",
            {"candidate": str(theirs_candidate.pk), "template": str(mine_template.pk)},
        ),
        (
            "POST",
            "invitations/",
            {"candidate": str(mine_candidate.pk), "template": str(theirs_template.pk)},
        ),
    ]
    for method, path, body in calls:
        response = acme_api.call(method, path, body)
        assert response.status_code == 404, (method, path, response.content)
        assert response.json()["error"]["code"] == "not_found"
    for path in ("candidates/", "sessions/", "invitations/", "templates/"):
        ids = {row["id"] for row in acme_api.call("GET", path).json()["results"]}
        assert not ids & {
            str(theirs_candidate.pk),
            str(theirs_session.pk),
            str(theirs_invitation.pk),
            str(theirs_template.pk),
        }, path
    with rls.bypass_context():
        assert InterviewSession.objects.get(pk=theirs_session.pk).decision == ""
        assert InterviewInvitation.objects.get(pk=theirs_invitation.pk).revoked_at is None


def test_the_read_answers_exactly_what_its_documented_serializers_would(acme_api, interview):
    from tenant_api.serializers import SessionEventSerializer, TranscriptEntrySerializer

    body = acme_api.call("GET", f"sessions/{interview.pk}/").json()
    with rls.tenant_context(interview.tenant_id):
        transcript = TranscriptEntrySerializer(interview.transcript.order_by("seq"), many=True)
        timeline = SessionEventSerializer(interview.events.order_by("created_at", "pk"), many=True)
        assert body["transcript"] == json.loads(json.dumps(transcript.data))
        assert body["timeline"] == json.loads(json.dumps(timeline.data))
