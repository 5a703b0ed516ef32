"""allauth adapters: candidate accounts exist only for people holding an invitation."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from .flow import FLOW_INVITATION_KEY


def _has_invitation(request) -> bool:
    return bool(request is not None and request.session.get(FLOW_INVITATION_KEY))


class CandidateAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Open only inside an invitation's onboarding: nobody else has a reason to sign up.
        return _has_invitation(request)


class CandidateSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return _has_invitation(request)
