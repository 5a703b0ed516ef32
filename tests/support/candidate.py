"""Calling the candidate session API as the interview page does: with the session's token."""

from django.test import Client

from live.tokens import session_token_issue


def session_api(session, action, data=None):
    """POST ``data`` to the session's ``action`` (start, heartbeat, transcript, end...)."""
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    return Client().post(
        f"/api/candidate/sessions/{session.pk}/{action}/",
        data=data or {},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
