"""allauth form overrides for the candidate sign-in."""

from allauth.account.forms import RequestLoginCodeForm

from tenants.selectors import is_console_user


class CandidateLoginCodeForm(RequestLoginCodeForm):
    """Asks for a login code. For a console account no code is made at all: the pending
    login carries no user, so no code can complete it, and the page answers as it does for an
    unknown address (the email that account receives explains where to sign in instead)."""

    def clean_email(self) -> str:
        email = super().clean_email()
        user = getattr(self, "_user", None)
        if user is not None and is_console_user(user):
            self._user = None
        return email
