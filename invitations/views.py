"""The candidate's way in: invitation link -> consent -> sign in -> device check -> session.

Progress is kept in the candidate's server-side session (invitations.flow); the raw token is
only ever in the first URL. Every page re-checks that the invitation is still usable.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from core import requestcontext, rls
from core.browser_permissions import camera_and_microphone
from core.maintenance import closed_for_maintenance
from interviews.selectors import consent_for_candidate
from interviews.services import consent_record
from tenants.models import TenantStatus

from . import accommodations, services
from .flow import FLOW_CONSENT_KEY, FLOW_INVITATION_KEY
from .models import InvitationStatus
from .selectors import invitation_for_flow, invitation_for_token

#: A new version whenever the consent text changes; what each candidate agreed to is stored
#: word for word with its version (Consent), so earlier versions' text stays as it was shown.
#: 2026-12-03: the video recording, what it is for and who stores it (or, for a tenant that
#: records no video, no word of video).
CONSENT_VERSION = "2026-12-03"

_PROBLEMS = {
    InvitationStatus.EXPIRED: (
        "This invitation has expired. Please ask the recruiter who invited you for a new link."
    ),
    InvitationStatus.REVOKED: "This invitation has been withdrawn by the organisation.",
    InvitationStatus.ACCEPTED: (
        "This invitation has already been used. If that was you, open the interview from the "
        "device you started it on, or ask the recruiter for a new invitation."
    ),
}
_UNKNOWN = (
    "This invitation link is not valid. Check that you copied the whole link from the email, "
    "or use the link in the most recent email if you received more than one."
)


def _invalid(request, message: str, status: int):
    return render(request, "invitations/invalid.html", {"message": message}, status=status)


def _suspended(request, invitation):
    """The company's account is suspended by the platform: no interview starts meanwhile."""
    return render(request, "invitations/suspended.html", {"tenant": invitation.tenant}, status=403)


def password_pages_not_offered(request, *args, **kwargs):
    """allauth's password pages (reset by email, set, change) answer 404. Candidates sign in
    with an emailed code or Google and have no password; console users sign in with theirs at
    the console, and an inbox alone must not be a way in: a platform operator resets a
    forgotten console password (the console's user page, or ``manage.py changepassword``)."""
    raise Http404("Passwords are not managed here.")


def rate_limited(request, exception=None):
    response = render(
        request,
        "invitations/invalid.html",
        {"message": "Too many attempts from your network. Please wait a minute and try again."},
        status=429,
    )
    response["Retry-After"] = "60"
    return response


def _open_rate(group, request):
    return settings.INVITATION_OPEN_RATE


def _flow_invitation(request):
    """The invitation this browser is onboarding with, if it is still usable, else a response
    explaining why not."""
    invitation = invitation_for_flow(request.session.get(FLOW_INVITATION_KEY))
    if invitation is None:
        return None, _invalid(
            request, "Your session has ended. Please open the link in your invitation email.", 400
        )
    problem = _PROBLEMS.get(invitation.status)
    if problem and not (
        invitation.status == InvitationStatus.ACCEPTED
        and invitation.session
        and invitation.candidate.user_id == getattr(request.user, "pk", None)
    ):
        return None, _invalid(request, problem, 410)
    if invitation.tenant.status != TenantStatus.ACTIVE:
        return None, _suspended(request, invitation)
    return invitation, None


def _flow_consent(request, invitation):
    return consent_for_candidate(request.session.get(FLOW_CONSENT_KEY), invitation.candidate_id)


@never_cache
@closed_for_maintenance
@require_GET
@ratelimit(key="ip", rate=_open_rate, block=False)
def invitation_open(request, token):
    """What the emailed link shows. Unknown tokens get the same page whatever tenant they
    might belong to; valid ones start the onboarding in this browser."""
    if getattr(request, "limited", False):
        return rate_limited(request)
    invitation = invitation_for_token(token)
    if invitation is None:
        return _invalid(request, _UNKNOWN, 404)
    problem = _PROBLEMS.get(invitation.status)
    if problem:
        return _invalid(request, problem, 410)
    if invitation.tenant.status != TenantStatus.ACTIVE:
        return _suspended(request, invitation)
    services.invitation_mark_opened(invitation=invitation)
    request.session.cycle_key()
    request.session[FLOW_INVITATION_KEY] = str(invitation.pk)
    request.session.pop(FLOW_CONSENT_KEY, None)
    return render(request, "invitations/open.html", {"invitation": invitation})


def _video_context(invitation) -> dict:
    """Whether the interview is recorded on video (the tenant's ``video_enabled``) and, if so,
    whether its template requires a working camera."""
    video = invitation.tenant.video_enabled
    return {"video": video, "video_required": video and invitation.template.video_required}


def _consent_context(invitation) -> dict:
    return {
        "invitation": invitation,
        "tenant": invitation.tenant,
        "version": CONSENT_VERSION,
        **_video_context(invitation),
    }


@never_cache
@closed_for_maintenance
@require_http_methods(["GET", "POST"])
def consent(request):
    invitation, problem = _flow_invitation(request)
    if problem:
        return problem
    context = _consent_context(invitation)
    if request.method == "POST":
        if request.POST.get("agree") != "yes":
            context["error"] = (
                "Please tick the box to confirm you agree, or ask for an alternative below."
            )
            return render(request, "invitations/consent.html", context, status=400)
        text = render_to_string("invitations/consent_text.txt", context).strip()
        with rls.tenant_context(invitation.tenant_id):
            record = consent_record(
                candidate=invitation.candidate,
                version=CONSENT_VERSION,
                text=text,
                ip=requestcontext.client_ip.get(),
                user_agent=request.headers.get("User-Agent", ""),
            )
        request.session[FLOW_CONSENT_KEY] = str(record.pk)
        return redirect("interview_sign_in")
    return render(request, "invitations/consent.html", context)


@never_cache
@closed_for_maintenance
@require_http_methods(["GET", "POST"])
def accommodation(request):
    invitation, problem = _flow_invitation(request)
    if problem:
        return problem
    context = {"invitation": invitation, "tenant": invitation.tenant}
    if request.method == "POST":
        try:
            accommodations.accommodation_request_create(
                invitation=invitation, message=request.POST.get("message", "")
            )
        except ValidationError as error:
            context["error"] = " ".join(error.messages)
            context["message"] = request.POST.get("message", "")[:4000]
            return render(request, "invitations/accommodation.html", context, status=400)
        return render(request, "invitations/accommodation_sent.html", context)
    return render(request, "invitations/accommodation.html", context)


@never_cache
@closed_for_maintenance
@require_GET
def sign_in(request):
    invitation, problem = _flow_invitation(request)
    if problem:
        return problem
    if _flow_consent(request, invitation) is None:
        return redirect("interview_consent")
    if not request.user.is_authenticated:
        # Make sure an account exists for the invited address, so the emailed login code
        # works for someone who has never signed in before.
        services.candidate_account_for(invitation)
        return render(
            request,
            "invitations/sign_in.html",
            {
                "invitation": invitation,
                "next": reverse("interview_sign_in"),
                "google_enabled": settings.GOOGLE_LOGIN_ENABLED,
            },
        )
    if not services.candidate_link_user(invitation=invitation, user=request.user):
        return render(
            request,
            "invitations/wrong_account.html",
            {"invitation": invitation, "next": reverse("interview_signed_out")},
            status=403,
        )
    return redirect("interview_device_check")


def _ready_to_start(request):
    """Invitation usable, consent given, signed in as the invited person."""
    invitation, problem = _flow_invitation(request)
    if problem:
        return None, None, problem
    consent_obj = _flow_consent(request, invitation)
    if consent_obj is None:
        return None, None, redirect("interview_consent")
    if not services.candidate_link_user(invitation=invitation, user=request.user):
        return None, None, redirect("interview_sign_in")
    return invitation, consent_obj, None


@never_cache
@closed_for_maintenance
@login_required
@require_GET
@camera_and_microphone
def device_check(request):
    invitation, _, problem = _ready_to_start(request)
    if problem:
        return problem
    return render(
        request,
        "invitations/device_check.html",
        {"invitation": invitation, **_video_context(invitation)},
    )


@never_cache
@closed_for_maintenance
@login_required
@require_POST
def start(request):
    invitation, consent_obj, problem = _ready_to_start(request)
    if problem:
        return problem
    try:
        session = services.invitation_accept(
            invitation=invitation, user=request.user, consent=consent_obj
        )
    except services.InvitationUnusable as error:
        return _invalid(request, _PROBLEMS.get(error.status, str(error)), 410)
    except ValidationError as error:
        return _invalid(request, " ".join(error.messages), 403)
    return redirect("interview_session", session_id=session.pk)


@never_cache
@require_GET
def signed_out(request):
    """After signing out of the wrong account (which ends the browser session, and with it
    the onboarding progress): how to carry on."""
    return render(request, "invitations/signed_out.html")
