"""allauth adapters: candidate accounts exist only for people holding an invitation."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
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

    def pre_social_login(self, request, sociallogin):
        # The sign-in page creates the invited person's account (address not yet verified) so
        # an emailed code can reach it. When Google vouches for that same address instead,
        # take its word, as a code login would have, rather than asking for a second proof.
        user = sociallogin.user
        if user is not None and user.pk:
            for address in sociallogin.email_addresses:
                if address.verified:
                    EmailAddress.objects.filter(
                        user=user, email__iexact=address.email, verified=False
                    ).update(verified=True)
        super().pre_social_login(request, sociallogin)
