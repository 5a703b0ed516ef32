"""allauth adapters: candidate accounts exist only for people holding an invitation, and only
candidates sign in here. Console users (operators, staff, members of a tenant) sign in with
their password at the console's own sign-in page, never with an emailed code or Google."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from allauth.account.models import EmailAddress
from allauth.account.utils import filter_users_by_email
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse

from tenants.selectors import is_console_user

from .flow import FLOW_INVITATION_KEY

# Emails allauth's code login sends to an address; a console account gets neither, only the
# pointer to the console sign-in (console_sign_in).
_CODE_LOGIN_MAILS = {"account/email/login_code", "account/email/unknown_account"}


def _has_invitation(request) -> bool:
    return bool(request is not None and request.session.get(FLOW_INVITATION_KEY))


def _console_sign_in_url() -> str:
    return settings.SITE_URL + reverse("admin:login")


def console_sign_in_required(request):
    """The answer to a console user who tried a candidate's way of signing in."""
    return render(
        request,
        "invitations/console_sign_in_required.html",
        {"console_sign_in_url": reverse("admin:login")},
        status=403,
    )


class CandidateAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Open only inside an invitation's onboarding: nobody else has a reason to sign up.
        return _has_invitation(request)

    def add_message(self, request, level, message_template=None, *args, **kwargs):
        # A code sign-in also confirms the address it went to; one notice (signed in) is
        # enough for the candidate, not a second one for the address.
        if message_template == "account/messages/email_confirmed.txt":
            return
        super().add_message(request, level, message_template, *args, **kwargs)

    def pre_login(self, request, user, **kwargs):
        # Every allauth login (emailed code, Google, a password at /accounts/login/) ends
        # here; the console's own sign-in does not go through allauth at all.
        if is_console_user(user):
            clear_login(request)
            return console_sign_in_required(request)
        return super().pre_login(request, user, **kwargs)

    def send_mail(self, template_prefix, email, context):
        # Whoever typed a console user's address learns nothing from the page (it answers as
        # for any address); the address's owner is told where they do sign in, with no code.
        if template_prefix in _CODE_LOGIN_MAILS and any(
            is_console_user(user) for user in filter_users_by_email(email)
        ):
            template_prefix = "account/email/console_sign_in"
            context = {**context, "console_sign_in_url": _console_sign_in_url()}
        super().send_mail(template_prefix, email, context)


class CandidateSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return _has_invitation(request)

    def pre_social_login(self, request, sociallogin):
        user = sociallogin.user
        # Before allauth connects the Google identity to the account it found by email (and
        # wipes that account's password): a console account is never signed in this way.
        if user is not None and user.pk and is_console_user(user):
            raise ImmediateHttpResponse(console_sign_in_required(request))
        # The sign-in page creates the invited person's account (address not yet verified) so
        # an emailed code can reach it. When Google vouches for that same address instead,
        # take its word, as a code login would have, rather than asking for a second proof.
        if user is not None and user.pk:
            for address in sociallogin.email_addresses:
                if address.verified:
                    EmailAddress.objects.filter(
                        user=user, email__iexact=address.email, verified=False
                    ).update(verified=True)
        super().pre_social_login(request, sociallogin)
