"""Interviews with everything a session produces, for the retention and erasure tests."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from core import rls
from interviews.models import (
    Candidate,
    Consent,
    InterviewSession,
    SessionEvent,
    SessionSummary,
    TranscriptEntry,
    VideoSegment,
)
from invitations.models import AccommodationRequest, InterviewInvitation
from tenants.models import AuditEvent
from tests.factories import (
    AccommodationRequestFactory,
    CandidateFactory,
    InvitationFactory,
    SessionEventFactory,
    SessionFactory,
    SummaryFactory,
    TemplateFactory,
    TranscriptEntryFactory,
    VideoSegmentFactory,
)

#: Every model retention and erasure delete from, to compare a tenant's rows before and after.
MODELS = (
    Candidate,
    Consent,
    InterviewSession,
    TranscriptEntry,
    SessionSummary,
    SessionEvent,
    VideoSegment,
    InterviewInvitation,
    AccommodationRequest,
)


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def interview(tenant, *, ended_days_ago: float | None, candidate=None, status="completed"):
    """A session of ``tenant`` that ended ``ended_days_ago`` (None: under way), started from an
    accepted invitation with an accommodation request, with a transcript, an AI summary, a
    timeline, a video segment and a recruiter's decision. The candidate's row is as old as the
    session's end."""
    candidate = candidate or CandidateFactory(tenant=tenant)
    template = TemplateFactory(tenant=tenant, title="Backend screen")
    ended = days_ago(ended_days_ago) if ended_days_ago is not None else None
    session = SessionFactory(
        tenant=tenant,
        candidate=candidate,
        template=template,
        status=status,
        started_at=ended - timedelta(minutes=20) if ended else None,
        ended_at=ended,
        decision="advance" if ended else "",
        decision_note="Strong on queues." if ended else "",
        video_recording_id=f"vr-{candidate.pk}" if ended else "",
    )
    TranscriptEntryFactory(session=session, seq=1, speaker="interviewer", text="Tell me more.")
    TranscriptEntryFactory(session=session, seq=2, speaker="candidate", text="I built a queue.")
    SummaryFactory(session=session, summary="Knows queues well.")
    SessionEventFactory(session=session, kind="status_changed", data={"to": status})
    VideoSegmentFactory(session=session)
    invitation = InvitationFactory(
        tenant=tenant,
        candidate=candidate,
        template=template,
        accepted_at=(ended or timezone.now()) - timedelta(hours=1),
        session=session,
    )
    AccommodationRequestFactory(invitation=invitation, message="Could I type my answers?")
    if ended:  # the candidate's row last changed when the interview ended
        age(Candidate, ended_days_ago, pk=candidate.pk)
    return session


def age(model, days: float, **filters) -> None:
    """Make rows look ``days`` old where the model's own clock would not let a factory."""
    field = {Candidate: "updated_at", Consent: "accepted_at"}.get(model, "created_at")
    with rls.bypass_context():
        model.objects.filter(**filters).update(**{field: days_ago(days)})


def tenant_rows(tenant) -> dict:
    """Every row of the tenant in the models retention and erasure touch, by model."""
    with rls.tenant_context(tenant.pk):
        return {
            model._meta.label_lower: sorted(
                str(pk) for pk in model.objects.values_list("pk", flat=True)
            )
            for model in MODELS
        }


def audit_events(tenant, action: str) -> list[AuditEvent]:
    with rls.tenant_context(tenant.pk):
        return list(AuditEvent.objects.filter(action=action).order_by("created_at"))


def old_audit_event(tenant, *, days: float, action: str = "candidate.changed") -> str:
    """An audit event written ``days`` ago (an INSERT with its time: the trail takes no
    UPDATE, so a factory's row cannot be aged afterwards)."""
    import uuid

    event_id = str(uuid.uuid4())
    with rls.bypass_context(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenants_auditevent (id, tenant_id, actor_label, action, target_type, "
            "target_id, target_repr, request_id, details, created_at) "
            "VALUES (%s, %s, 'system', %s, '', '', '', '', '{}', %s)",
            [event_id, tenant.pk if tenant else None, action, days_ago(days)],
        )
    return event_id
