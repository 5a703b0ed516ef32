"""What a candidate's status becomes as their pipeline moves on (invited, interviewed,
decided): the one rule, and applying it to the stored candidate."""

from __future__ import annotations

from django.db import transaction

from tenants.services import audit_record

from ..models import Candidate, CandidateStatus, Decision

# The one rule for what a candidate's status becomes when something happens in their pipeline.
# What the interview itself does (it starts, it ends) only ever moves a candidate forward, so a
# stale session expiring late never undoes an "Interviewed" or a recruiter's decision. What a
# recruiter does on purpose (invites, decides) sets the status: re-inviting a rejected or
# withdrawn candidate starts a new round, so they are "Invited" again.


class PipelineEvent:
    INVITED = "invitation.issued"
    INTERVIEW_STARTED = "session.live"
    INTERVIEW_ENDED = "session.ended"
    DECIDED = "session.decision"


#: How far along the pipeline each status is (the decisions and a withdrawal are all "done").
_PIPELINE_STAGE = {
    CandidateStatus.NEW: 0,
    CandidateStatus.INVITED: 1,
    CandidateStatus.INTERVIEWING: 2,
    CandidateStatus.INTERVIEWED: 3,
    CandidateStatus.ADVANCED: 4,
    CandidateStatus.ON_HOLD: 4,
    CandidateStatus.REJECTED: 4,
    CandidateStatus.WITHDRAWN: 4,
}
DECISION_STATUS = {
    Decision.ADVANCE: CandidateStatus.ADVANCED,
    Decision.HOLD: CandidateStatus.ON_HOLD,
    Decision.REJECT: CandidateStatus.REJECTED,
}


def candidate_status_after(
    current: str, event: str, *, decision: str = "", previous_decision: str = ""
) -> str:
    """The status a candidate in ``current`` has after ``event`` (a ``PipelineEvent``).

    - invited: "Invited", except while an interview is under way (it stays "Interviewing").
    - an interview started (the session went live): "Interviewing", unless further along.
    - an interview that had started ended (completed, or cut short): "Interviewed", unless
      further along. One that never started changes nothing.
    - a decision: its status (Advance -> "Advanced", Hold -> "On hold", Reject ->
      "Rejected"), whatever the status was. Clearing a decision takes the candidate back to
      "Interviewed" if their status was the one that decision had set.
    """
    if event == PipelineEvent.INVITED:
        return current if current == CandidateStatus.INTERVIEWING else CandidateStatus.INVITED
    if event in (PipelineEvent.INTERVIEW_STARTED, PipelineEvent.INTERVIEW_ENDED):
        target = (
            CandidateStatus.INTERVIEWING
            if event == PipelineEvent.INTERVIEW_STARTED
            else CandidateStatus.INTERVIEWED
        )
        return target if _PIPELINE_STAGE[target] > _PIPELINE_STAGE.get(current, 0) else current
    if event == PipelineEvent.DECIDED:
        if decision:
            return DECISION_STATUS[decision]
        if previous_decision and current == DECISION_STATUS.get(previous_decision):
            return CandidateStatus.INTERVIEWED
        return current
    raise ValueError(f"Unknown pipeline event {event!r}.")


@transaction.atomic
def candidate_status_follow(*, candidate_id, event: str, actor=None, session=None, **rule) -> str:
    """Apply ``candidate_status_after`` to the stored candidate (under a row lock) and record a
    change in the audit trail, naming the event that caused it. Returns the new status."""
    candidate = (
        Candidate.objects.select_for_update().only("id", "tenant_id", "status").get(pk=candidate_id)
    )
    previous = candidate.status
    status = candidate_status_after(previous, event, **rule)
    if status == previous:
        return status
    candidate.status = status
    candidate.save(update_fields=["status", "updated_at"])
    details: dict = {
        "fields": ["status"],
        "status": {"from": previous, "to": status},
        "because": event,
    }
    if session is not None:
        details["session"] = str(session.pk)
    audit_record(
        action="candidate.changed",
        tenant_id=candidate.tenant_id,
        actor=actor,
        target=candidate,
        details=details,
    )
    return status
