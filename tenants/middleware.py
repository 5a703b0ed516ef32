"""Applies who is asking to the database wall, once per request: the signed-in user's own
account (every request), and the console user's tenant (console requests)."""

from contextlib import ExitStack

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_USER_SESSION_KEY
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseForbidden, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core import requestcontext, rls

from . import selectors, services

ACTIVE_TENANT_SESSION_KEY = "active_tenant_id"
_BYPASS_AUDITED_SESSION_KEY = "operator_bypass_audited"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class _OnTheViewsThread:
    """Middleware whose database settings must be made on the connection the views use. The
    console's and candidate pages' views are synchronous: in an asynchronous stack everything
    after this middleware runs on one thread, the one whose connection carries the settings."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        return self._call(request, self.get_response)

    async def __acall__(self, request):
        return await sync_to_async(self._call)(request, async_to_sync(self.get_response))

    def _call(self, request, get_response):
        raise NotImplementedError


class AccountContextMiddleware(_OnTheViewsThread):
    """Runs the request with the signed-in user's own account visible (``rls.user_context``
    for the user id in the session), so that Django can load ``request.user`` and record a
    login; on the sign-in pages (IDENTITY_LOOKUP_PATH_PREFIXES), where the account is found by
    name or address, every account (``rls.identity_lookup_context``) - never tenant data.
    Placed after the session middleware and before authentication.
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        self.lookup_prefixes = tuple(settings.IDENTITY_LOOKUP_PATH_PREFIXES)

    def _call(self, request, get_response):
        with ExitStack() as stack:
            stack.enter_context(rls.user_context(_session_user_id(request)))
            if request.path_info.startswith(self.lookup_prefixes):
                stack.enter_context(rls.identity_lookup_context())
            return get_response(request)


def _session_user_id(request) -> str:
    value = str(request.session.get(AUTH_USER_SESSION_KEY) or "")
    return value if value.isdigit() else ""


class TenantMiddleware(_OnTheViewsThread):
    """For console paths (the admin), sets ``request.tenant`` / ``request.membership`` /
    ``request.memberships`` and runs the request in that tenant's RLS context.

    Superusers get the operator bypass, from OPERATOR_ALLOWED_NETWORKS only: the first request
    of each login session and every write request are recorded in the audit trail. Members
    work from their tenant's networks only, and a member of a tenant that requires two-factor
    authentication who has not set it up reaches only the page that sets it up (and sign-out).
    All RLS settings are cleared when the response is done, so a pooled connection never
    carries them into the next request.
    """

    _enrolment_path_names = ("console_two_factor", "console_logout")

    def __init__(self, get_response):
        super().__init__(get_response)
        self.prefixes = tuple(settings.CONSOLE_PATH_PREFIXES)

    def _enrolment_paths(self) -> set[str]:
        return {reverse(name) for name in self._enrolment_path_names}

    async def __acall__(self, request):
        if not request.path_info.startswith(self.prefixes):
            # Everything outside the console passes straight on, without a thread hop.
            request.tenant, request.membership, request.memberships = None, None, []
            return await self.get_response(request)
        return await super().__acall__(request)

    def _call(self, request, get_response):
        request.tenant = None
        request.membership = None
        request.memberships = []
        user = getattr(request, "user", None)
        is_console = request.path_info.startswith(self.prefixes)
        if not (is_console and user is not None and user.is_authenticated and user.is_staff):
            return get_response(request)
        if selectors.two_factor_session_stale(
            user, request.session.get(selectors.TWO_FACTOR_SESSION_KEY)
        ):
            # Signed in without the second factor (before it was set up, or against an
            # authenticator since replaced): sign in again, with it.
            auth_logout(request)
            return redirect_to_login(request.get_full_path(), reverse("console_login"))

        try:
            with ExitStack() as stack:
                if user.is_superuser:
                    if not selectors.operator_console_network_allowed(
                        requestcontext.client_ip.get()
                    ):
                        return HttpResponseForbidden(
                            "The console is not available to operators from this network."
                        )
                    audit = request.method not in _SAFE_METHODS or not request.session.get(
                        _BYPASS_AUDITED_SESSION_KEY
                    )
                    stack.enter_context(
                        services.operator_bypass(
                            actor=user,
                            reason=f"{request.method} {request.path_info}",
                            audit=audit,
                        )
                    )
                    request.session[_BYPASS_AUDITED_SESSION_KEY] = True
                else:
                    stack.enter_context(rls.user_context(user.pk))
                    request.memberships = selectors.memberships_for_user(user)
                    membership = selectors.membership_pick(
                        request.memberships, request.session.get(ACTIVE_TENANT_SESSION_KEY)
                    )
                    if membership is None and request.path_info != reverse("console_logout"):
                        suspended = selectors.suspended_memberships_for_user(user)
                        if suspended:
                            # Their company's account is suspended by the platform: say so,
                            # rather than an empty console (signing out still works).
                            return TemplateResponse(
                                request,
                                "admin/tenant_suspended.html",
                                {"tenants": [m.tenant for m in suspended]},
                                status=403,
                            ).render()
                    if membership is not None:
                        if not selectors.network_allowed(
                            membership.tenant, requestcontext.client_ip.get()
                        ):
                            return HttpResponseForbidden(
                                "The console is not available from this network for "
                                f"{membership.tenant.name}."
                            )
                        request.membership = membership
                        request.tenant = membership.tenant
                        stack.enter_context(rls.tenant_context(membership.tenant_id))
                    if request.path_info not in self._enrolment_paths() and (
                        selectors.two_factor_missing(user, request.memberships)
                    ):
                        return HttpResponseRedirect(reverse("console_two_factor"))
                return get_response(request)
        finally:
            rls.reset()
