"""Every event is emitted from the place its change happens, in that change's transaction:
one delivery per enabled endpoint that subscribed, ids and links in the payload, transcript
text only for endpoints that opted in."""

import pytest
from django.utils import timezone

from core import rls
from interviews import services as interview_services
from interviews.models import Decision
from invitations.services import invitation_accept, invitation_deliver
from privacy.services import candidate_erase
from tests.factories import (
    CandidateFactory,
    ConsentFactory,
    InvitationFactory,
    SessionFactory,
    TranscriptEntryFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from tests.support.responses import ok
from tests.support.summaries import end, good_answer, interview, upstream  # noqa: F401
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def deliveries(tenant, event_type=None):
    with rls.bypass_context():
        rows = WebhookDelivery.objects.filter(tenant=tenant).select_related("endpoint")
        if event_type:
            rows = rows.filter(event_type=event_type)
        return list(rows)


def subscribe(tenant, *events, **fields):
    return WebhookEndpointFactory(tenant=tenant, events=list(events), **fields)


def test_only_enabled_endpoints_that_subscribed_get_a_delivery(tenant_a, tenant_b):
    wanted = subscribe(tenant_a, "decision.recorded")
    subscribe(tenant_a, "session.completed")
    subscribe(tenant_a, "decision.recorded", is_enabled=False)
    subscribe(tenant_b, "decision.recorded")
    session = SessionFactory(tenant=tenant_a, status="completed")
    with rls.tenant_context(tenant_a.pk):
        interview_services.session_record_decision(
            session=session, decision=Decision.HOLD, actor=None
        )
    [delivery] = deliveries(tenant_a) + deliveries(tenant_b)
    assert delivery.endpoint == wanted
    assert delivery.message_id.startswith("msg_")
    assert delivery.payload["type"] == "decision.recorded"
    assert delivery.payload["data"]["previous_decision"] == ""


def test_invitation_sent(tenant_a):
    subscribe(tenant_a, "invitation.sent")
    invitation = InvitationFactory(tenant=tenant_a)
    invitation_deliver(invitation_id=invitation.pk, tenant_id=tenant_a.pk)
    [delivery] = deliveries(tenant_a)
    data = delivery.payload["data"]
    assert delivery.event_type == "invitation.sent"
    assert data["invitation_id"] == str(invitation.pk)
    assert data["candidate_id"] == str(invitation.candidate_id)
    assert data["send_count"] == 1
    assert invitation.candidate.email not in str(delivery.payload)


def test_invitation_accepted(tenant_a):
    subscribe(tenant_a, "invitation.accepted")
    user = UserFactory()
    candidate = CandidateFactory(tenant=tenant_a, user=user)
    invitation = InvitationFactory(tenant=tenant_a, candidate=candidate)
    consent = ConsentFactory(candidate=candidate, tenant=tenant_a)
    session = invitation_accept(invitation=invitation, user=user, consent=consent)
    [delivery] = deliveries(tenant_a)
    assert delivery.event_type == "invitation.accepted"
    assert delivery.payload["data"]["session_id"] == str(session.pk)


def test_session_started_once_even_after_a_reconnect(tenant_a):
    subscribe(tenant_a, "session.started")
    session = SessionFactory(tenant=tenant_a, status="connecting")
    with rls.tenant_context(tenant_a.pk):
        for status in ("live", "connecting", "live"):
            interview_services.session_transition(session=session, to=status)
    [delivery] = deliveries(tenant_a)
    assert delivery.payload["data"]["session_id"] == str(session.pk)
    assert delivery.payload["data"]["started_at"] is not None


def test_session_completed_carries_the_transcript_only_where_opted_in(tenant_a):
    opted_in = subscribe(tenant_a, "session.completed", include_transcript=True)
    subscribe(tenant_a, "session.completed")
    session = SessionFactory(tenant=tenant_a, status="live", started_at=timezone.now())
    TranscriptEntryFactory(session=session, seq=1, speaker="candidate", text="I built a queue.")
    with rls.tenant_context(tenant_a.pk):
        interview_services.session_end(session=session, reason="interview_complete")
    by_endpoint = {d.endpoint_id: d.payload for d in deliveries(tenant_a, "session.completed")}
    assert len(by_endpoint) == 2
    for endpoint_id, payload in by_endpoint.items():
        assert payload["data"]["status"] == "completed"
        assert payload["data"]["end_reason"] == "interview_complete"
        if endpoint_id == opted_in.pk:
            assert payload["data"]["transcript"] == [
                {"seq": 1, "speaker": "candidate", "text": "I built a queue."}
            ]
        else:
            assert "transcript" not in payload["data"]
            assert "I built a queue." not in str(payload)


def test_session_abandoned(tenant_a):
    subscribe(tenant_a, "session.abandoned", include_transcript=True)
    session = SessionFactory(tenant=tenant_a, status="pending")
    with rls.tenant_context(tenant_a.pk):
        interview_services.session_end(session=session, reason="candidate_left")
    [delivery] = deliveries(tenant_a)
    assert delivery.event_type == "session.abandoned"
    assert "transcript" not in delivery.payload["data"]


@pytest.mark.summaries
def test_summary_ready(tenant_a, upstream, django_capture_on_commit_callbacks):  # noqa: F811
    opted_in = subscribe(tenant_a, "summary.ready", include_transcript=True)
    plain = subscribe(tenant_a, "summary.ready")
    upstream.then(ok(good_answer))
    session = interview(tenant_a)
    end(session, django_capture_on_commit_callbacks)
    by_endpoint = {d.endpoint_id: d.payload["data"] for d in deliveries(tenant_a, "summary.ready")}
    assert by_endpoint[plain.pk]["recommendation"] == "yes"
    assert by_endpoint[plain.pk]["session_id"] == str(session.pk)
    assert "summary" not in by_endpoint[plain.pk]
    assert "transcript" not in by_endpoint[plain.pk]
    assert by_endpoint[opted_in.pk]["summary"]["text"].startswith("Built and ran")
    assert len(by_endpoint[opted_in.pk]["transcript"]) == 6


def test_decision_recorded_only_when_it_changes(tenant_a):
    subscribe(tenant_a, "decision.recorded")
    session = SessionFactory(tenant=tenant_a, status="completed")
    with rls.tenant_context(tenant_a.pk):
        for decision in (Decision.ADVANCE, Decision.ADVANCE):
            interview_services.session_record_decision(
                session=session, decision=decision, note="Strong.", actor=None
            )
    [delivery] = deliveries(tenant_a)
    assert delivery.payload["data"]["decision"] == "advance"
    assert "Strong." not in str(delivery.payload)


def test_candidate_erased_and_the_deliveries_about_them_go(tenant_a):
    endpoint = subscribe(tenant_a, "candidate.erased")
    candidate = CandidateFactory(tenant=tenant_a, external_id="ATS-7")
    about = WebhookDeliveryFactory(
        endpoint=endpoint, payload={"data": {"candidate_id": str(candidate.pk), "transcript": []}}
    )
    other = WebhookDeliveryFactory(endpoint=endpoint)
    with rls.tenant_context(tenant_a.pk):
        candidate_erase(candidate=candidate, actor=None)
    remaining = deliveries(tenant_a)
    assert {d.pk for d in remaining} - {other.pk} == {
        d.pk for d in remaining if d.event_type == "candidate.erased"
    }
    assert about.pk not in {d.pk for d in remaining}
    [erased] = [d for d in remaining if d.event_type == "candidate.erased"]
    assert erased.payload["data"]["candidate_id"] == str(candidate.pk)
    assert erased.payload["data"]["external_id"] == "ATS-7"
    assert candidate.email not in str(erased.payload)
