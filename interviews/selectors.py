"""Reads for interviews."""

from __future__ import annotations

from tenants.services import system_bypass

from .models import Consent, InterviewSession


def session_for_candidate(session_id, user) -> InterviewSession | None:
    """The session, if it belongs to a candidate row linked to ``user`` (else None: the same
    answer for another person's session as for a missing one)."""
    if not getattr(user, "is_authenticated", False):
        return None
    with system_bypass(reason="candidate session lookup"):
        return (
            InterviewSession.objects.select_related("tenant", "template", "candidate")
            .filter(pk=session_id, candidate__user=user)
            .first()
        )


def consent_for_candidate(consent_id, candidate_id) -> Consent | None:
    if not consent_id:
        return None
    with system_bypass(reason="candidate consent lookup"):
        return Consent.objects.filter(pk=consent_id, candidate_id=candidate_id).first()
