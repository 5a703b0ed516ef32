"""Resolves the console user's tenant once per request and applies it to the database wall."""

from contextlib import ExitStack

from django.conf import settings
from django.http import HttpResponseForbidden

from . import requestcontext, rls, selectors, services

ACTIVE_TENANT_SESSION_KEY = "active_tenant_id"
_BYPASS_AUDITED_SESSION_KEY = "operator_bypass_audited"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class TenantMiddleware:
    """For console paths (the admin), sets ``request.tenant`` / ``request.membership`` /
    ``request.memberships`` and runs the request in that tenant's RLS context.

    Superusers get the operator bypass: the first request of each login session and every
    write request are recorded in the audit trail. All RLS settings are cleared when the
    response is done, so a pooled connection never carries them into the next request.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefixes = tuple(settings.CONSOLE_PATH_PREFIXES)

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        request.memberships = []
        user = getattr(request, "user", None)
        is_console = request.path_info.startswith(self.prefixes)
        if not (is_console and user is not None and user.is_authenticated and user.is_staff):
            return self.get_response(request)

        try:
            with ExitStack() as stack:
                if user.is_superuser:
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
                return self.get_response(request)
        finally:
            rls.reset()
