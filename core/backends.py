"""Console sign-in with a password, through the database wall: accounts (auth_user) are
visible only to their own user, to the members of the tenant being worked in, and while
signing in (core.rls)."""

from django.contrib.auth import backends

from . import rls


class ModelBackend(backends.ModelBackend):
    """Django's username/password backend. Finding the account by its name needs every
    account in view (``identity_lookup_context``); loading the signed-in user for a request
    needs only their own."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        with rls.identity_lookup_context():
            return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        with rls.user_context(user_id):
            return super().get_user(user_id)
