"""The candidate's interview page and the page after it."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.browser_permissions import camera_and_microphone
from core.maintenance import maintenance_current, maintenance_page
from interviews.models import SessionStatus
from interviews.selectors import session_for_candidate

from .tokens import session_token_issue


@never_cache
@login_required
@require_GET
@camera_and_microphone
def session_page(request, session_id):
    session = session_for_candidate(session_id, request.user.pk)
    if session is None:
        raise Http404("No such interview.")
    if session.is_terminal:
        return redirect("interview_done", session_id=session.pk)
    if session.status == SessionStatus.PENDING and (maintenance := maintenance_current()):
        # An interview already under way goes on through maintenance; a new one waits.
        return maintenance_page(request, maintenance)
    token = session_token_issue(
        session_id=session.pk, user_id=request.user.pk, tenant_id=session.tenant_id
    )
    config = {
        "sessionId": str(session.pk),
        "token": token,
        "tokenTtl": settings.SESSION_TOKEN_TTL_SECONDS,
        "api": f"/api/candidate/sessions/{session.pk}/",
        "maxDurationSeconds": session.template.max_duration_minutes * 60,
        "doneUrl": f"/interview/session/{session.pk}/done/",
        "video": {
            "enabled": session.tenant.video_enabled,
            "required": session.tenant.video_enabled and session.template.video_required,
            "timesliceMs": settings.VIDEO_TIMESLICE_MS,
            "partBytes": settings.VIDEO_UPLOAD_PART_BYTES,
        },
    }
    return render(request, "interviews/interview.html", {"session": session, "config": config})


@never_cache
@login_required
@require_GET
def session_done(request, session_id):
    session = session_for_candidate(session_id, request.user.pk)
    if session is None:
        raise Http404("No such interview.")
    return render(request, "interviews/done.html", {"session": session})
