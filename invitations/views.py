"""Candidate-facing invitation pages."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .models import InvitationStatus
from .selectors import invitation_for_token

_PROBLEMS = {
    InvitationStatus.EXPIRED: "This invitation has expired. Please ask the recruiter for a new "
    "link.",
    InvitationStatus.REVOKED: "This invitation has been withdrawn by the organisation.",
    InvitationStatus.ACCEPTED: "This invitation has already been used.",
}


@never_cache
@require_GET
def invitation_open(request, token):
    """What the emailed link shows. Unknown tokens get the same page whatever tenant they
    might belong to."""
    invitation = invitation_for_token(token)
    if invitation is None:
        return render(
            request,
            "invitations/invalid.html",
            {
                "message": "This invitation link is not valid. Check that you copied the whole "
                "link from the email."
            },
            status=404,
        )
    problem = _PROBLEMS.get(invitation.status)
    if problem:
        return render(request, "invitations/invalid.html", {"message": problem}, status=410)
    return render(request, "invitations/open.html", {"invitation": invitation})
