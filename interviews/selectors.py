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


def template_realtime_config(template) -> dict:
    """The provider session configuration for ``template`` (the caller has set the tenant
    context)."""
    from .realtime.session_config import build_session_config

    return build_session_config(
        template, list(template.questions.all()), list(template.criteria.all())
    )


def session_realtime_config(session: InterviewSession) -> dict:
    """The configuration the session was created with (built now for older sessions)."""
    return session.realtime_config or template_realtime_config(session.template)


def live_calls() -> list[tuple[str, str, str]]:
    """(session id, tenant id, call id) of every session with a provider call that may still
    be running - what the realtime worker attaches to, also after a restart."""
    with system_bypass(reason="realtime worker discovery"):
        rows = InterviewSession.objects.filter(
            status__in=["connecting", "live"], provider_call_id__gt=""
        ).values_list("pk", "tenant_id", "provider_call_id")
        return [(str(s), str(t), c) for s, t, c in rows]
