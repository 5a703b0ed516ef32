"""Reads for retention and erasure: what has outlived its tenant's retention period, what a
candidate's erasure would remove, and a session's archive document. Each runs in the
caller's tenant context, except the one listing tenants."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from interviews.models import (
    TERMINAL_STATUSES,
    Candidate,
    Consent,
    InterviewSession,
    SessionEvent,
    SessionSummary,
    TranscriptEntry,
    VideoSegment,
)
from invitations.models import AccommodationRequest, InterviewInvitation
from tenants.models import Tenant
from tenants.services import system_bypass

from . import archive

#: Bumped when the archive document changes shape.
ARCHIVE_VERSION = 1


def tenant_ids() -> list:
    """Every tenant's id, for the daily job to queue one retention run each. The only read
    across tenants here, and it reads nothing but ids."""
    with system_bypass(reason="retention: list tenants"):
        return list(Tenant.objects.order_by("pk").values_list("pk", flat=True))


def tenant_ids_due_for_erasure(*, now=None) -> list:
    """The tenants whose deletion was asked for more than TENANT_DELETION_GRACE_DAYS ago and
    that are not erased yet (ids only, across tenants)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TENANT_DELETION_GRACE_DAYS)
    with system_bypass(reason="tenant deletion: list tenants due"):
        return list(
            Tenant.objects.filter(deletion_requested_at__lte=cutoff, deleted_at__isnull=True)
            .order_by("deletion_requested_at")
            .values_list("pk", flat=True)
        )


# --- Past the retention period ---------------------------------------------------------------


def sessions_past_retention(*, cutoff: datetime):
    """Sessions that ended (or, ended without a time, were created) before ``cutoff``. Sessions
    still under way are never archived: the stale-session job ends them first."""
    return InterviewSession.objects.annotate(
        retention_from=Coalesce("ended_at", "created_at")
    ).filter(status__in=TERMINAL_STATUSES, retention_from__lt=cutoff)


def invitations_past_retention(*, cutoff: datetime):
    """Invitations with no session left whose use ended before ``cutoff``: revoked, accepted
    (their session already deleted) or expired. An accepted invitation whose session is kept
    stays with it; one still open is never past."""
    return InterviewInvitation.objects.annotate(
        retention_from=Coalesce("revoked_at", "accepted_at", "expired_at", "expires_at")
    ).filter(session__isnull=True, retention_from__lt=cutoff)


def consents_past_retention(*, cutoff: datetime):
    """Consents no session refers to, given before ``cutoff`` (the candidate agreed, then never
    started, or the session they were given for is gone)."""
    used = InterviewSession.objects.filter(consent=OuterRef("pk"))
    return Consent.objects.filter(~Exists(used), accepted_at__lt=cutoff)


def candidates_left_with_nothing(*, cutoff: datetime):
    """Candidates with no session and no invitation left whose row nobody has touched since
    ``cutoff`` (added, edited, moved along the pipeline). A candidate added recently and not
    yet invited is kept."""
    sessions = InterviewSession.objects.filter(candidate=OuterRef("pk"))
    invitations = InterviewInvitation.objects.filter(candidate=OuterRef("pk"))
    return Candidate.objects.filter(~Exists(sessions), ~Exists(invitations), updated_at__lt=cutoff)


# --- A candidate's data ----------------------------------------------------------------------


def candidate_video_ids(candidate_id) -> list[str]:
    """The provider ids of every recording of the candidate's sessions."""
    return _video_ids(Q(session__candidate_id=candidate_id), Q(candidate_id=candidate_id))


def session_video_ids(session_id) -> list[str]:
    return _video_ids(Q(session_id=session_id), Q(pk=session_id))


def _video_ids(segments: Q, sessions: Q) -> list[str]:
    ids = set(VideoSegment.objects.filter(segments).values_list("provider_video_id", flat=True))
    ids |= set(
        InterviewSession.objects.filter(sessions).values_list("video_recording_id", flat=True)
    )
    return sorted(video_id for video_id in ids if video_id)


def candidate_data_counts(candidate: Candidate) -> dict[str, int]:
    """How many rows of each kind hold the candidate's data in their tenant, and how many
    archives: what erasing them removes (the confirmation page shows it)."""
    counts = {
        "sessions": InterviewSession.objects.filter(candidate=candidate).count(),
        "transcript entries": TranscriptEntry.objects.filter(session__candidate=candidate).count(),
        "summaries": SessionSummary.objects.filter(session__candidate=candidate).count(),
        "timeline events": SessionEvent.objects.filter(session__candidate=candidate).count(),
        "video recordings": len(candidate_video_ids(candidate.pk)),
        "invitations": InterviewInvitation.objects.filter(candidate=candidate).count(),
        "accommodation requests": AccommodationRequest.objects.filter(candidate=candidate).count(),
        "consents": Consent.objects.filter(candidate=candidate).count(),
        "archived sessions": len(
            archive.candidate_archives(tenant_id=candidate.tenant_id, candidate_id=candidate.pk)
        ),
    }
    singular = {
        "sessions": "session",
        "transcript entries": "transcript entry",
        "summaries": "summary",
        "timeline events": "timeline event",
        "video recordings": "video recording",
        "invitations": "invitation",
        "accommodation requests": "accommodation request",
        "consents": "consent",
        "archived sessions": "archived session",
    }
    return {
        (singular[kind] if count == 1 else kind): count for kind, count in counts.items() if count
    }


# --- The archive document --------------------------------------------------------------------


def _row(obj, *, exclude=("tenant_id",)) -> dict:
    """Every stored field of ``obj`` by its column's name (foreign keys as ids), so a field
    added to a model later is archived without a change here."""
    return {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if field.attname not in exclude
    }


def session_archive_document(session: InterviewSession, *, reason: str) -> dict:
    """Everything the session had, as one JSON-ready document: the session's own fields (its
    decision among them), the candidate, the template, the consent, the invitation, the
    accommodation requests made on that invitation, the transcript, the AI summary, the
    timeline and the video references."""
    session = (
        InterviewSession.objects.select_related(
            "tenant", "candidate", "template", "consent", "decided_by"
        )
        .filter(pk=session.pk)
        .get()
    )
    invitation = InterviewInvitation.objects.filter(session=session).first()
    summary = SessionSummary.objects.filter(session=session).first()
    decided_by = session.decided_by  # None too when the account is out of this tenant's sight
    return {
        "format": "interview-session-archive",
        "version": ARCHIVE_VERSION,
        "archived_at": timezone.now(),
        "reason": reason,
        "tenant": {
            "id": session.tenant_id,
            "slug": session.tenant.slug,
            "name": session.tenant.name,
            "retention_days": session.tenant.retention_days,
        },
        "session": _row(session),
        "candidate": _row(session.candidate, exclude=("tenant_id", "user_id")),
        "template": {
            "id": session.template_id,
            "title": session.template.title,
            "role": session.template.role,
        },
        "consent": _row(session.consent, exclude=("tenant_id", "candidate_id")),
        "invitation": _row(invitation, exclude=("tenant_id", "token_hash")) if invitation else None,
        "accommodation_requests": [
            _row(request, exclude=("tenant_id",))
            for request in AccommodationRequest.objects.filter(invitation=invitation).order_by(
                "created_at"
            )
        ]
        if invitation
        else [],
        "decision": {
            "decision": session.decision,
            "note": session.decision_note,
            "decided_at": session.decided_at,
            "decided_by": (decided_by.email or decided_by.get_username()) if decided_by else None,
        },
        "summary": _row(summary, exclude=("tenant_id", "session_id")) if summary else None,
        "transcript": [
            _row(entry, exclude=("tenant_id", "session_id"))
            for entry in TranscriptEntry.objects.filter(session=session).order_by("seq")
        ],
        "timeline": [
            _row(event, exclude=("tenant_id", "session_id"))
            for event in SessionEvent.objects.filter(session=session).order_by("created_at", "pk")
        ],
        "video": {
            "recording_id": session.video_recording_id,
            "recording_url": session.video_recording_url,
            "segments": [
                _row(segment, exclude=("tenant_id", "session_id"))
                for segment in VideoSegment.objects.filter(session=session).order_by(
                    "started_at", "pk"
                )
            ],
        },
    }
