"""What the interview domain announces to the tenants' webhook endpoints (webhooks.services.
webhook_emit), called from the service that makes each change, in its transaction.

Payloads carry ids, statuses, times and a console link, never a name or an address; the
transcript's text (and a summary's text) only for endpoints that opted in. docs/webhooks.md
lists each event's fields.
"""

from __future__ import annotations

from webhooks.models import WebhookEvent
from webhooks.services import console_url, webhook_emit

from ..models import InterviewSession, SessionStatus, SessionSummary, TranscriptEntry

#: The events a session's moves announce (a failed session announces nothing: it is a
#: technical fault, seen in the console's timeline).
SESSION_EVENTS = {
    SessionStatus.COMPLETED: WebhookEvent.SESSION_COMPLETED,
    SessionStatus.ABANDONED: WebhookEvent.SESSION_ABANDONED,
}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def session_data(session: InterviewSession) -> dict:
    """The fields every session event carries."""
    return {
        "session_id": str(session.pk),
        "candidate_id": str(session.candidate_id),
        "template_id": str(session.template_id),
        "status": session.status,
        "started_at": _iso(session.started_at),
        "ended_at": _iso(session.ended_at),
        "end_reason": session.end_reason,
        "console_url": console_url(session),
    }


def transcript_data(session_id) -> dict:
    """The transcript's text, for endpoints that opted in."""
    entries = TranscriptEntry.objects.filter(session_id=session_id).order_by("seq")
    return {
        "transcript": [
            {"seq": seq, "speaker": speaker, "text": text}
            for seq, speaker, text in entries.values_list("seq", "speaker", "text")
        ]
    }


def session_moved_emit(session: InterviewSession, *, to: str, had_started: bool) -> None:
    """Announce a session that went live for the first time, completed or was abandoned
    (``session_transition``)."""
    if to == SessionStatus.LIVE and not had_started:
        event, transcript = WebhookEvent.SESSION_STARTED, None
    elif to in SESSION_EVENTS:
        event = SESSION_EVENTS[to]
        completed = to == SessionStatus.COMPLETED
        transcript = (lambda: transcript_data(session.pk)) if completed else None
    else:
        return
    webhook_emit(
        tenant_id=session.tenant_id,
        event_type=event,
        data=session_data(session),
        transcript=transcript,
    )


def summary_ready_emit(summary: SessionSummary, session: InterviewSession) -> None:
    """Announce a summary that was written (``summary_write``)."""

    def opted_in() -> dict:
        return {
            "summary": {
                "text": summary.summary,
                "strengths": summary.strengths,
                "concerns": summary.concerns,
            },
            **transcript_data(session.pk),
        }

    webhook_emit(
        tenant_id=session.tenant_id,
        event_type=WebhookEvent.SUMMARY_READY,
        data={
            "session_id": str(session.pk),
            "candidate_id": str(session.candidate_id),
            "summary_id": str(summary.pk),
            "overall_rating": (
                str(summary.overall_rating) if summary.overall_rating is not None else None
            ),
            "recommendation": summary.recommendation,
            "console_url": console_url(session),
        },
        transcript=opted_in,
    )


def decision_recorded_emit(session: InterviewSession, *, previous: str) -> None:
    """Announce the recruiter's decision (``session_record_decision``). The note stays in the
    console: it is a person's words about a person."""
    webhook_emit(
        tenant_id=session.tenant_id,
        event_type=WebhookEvent.DECISION_RECORDED,
        data={
            "session_id": str(session.pk),
            "candidate_id": str(session.candidate_id),
            "decision": session.decision,
            "previous_decision": previous,
            "decided_at": _iso(session.decided_at),
            "console_url": console_url(session),
        },
    )
