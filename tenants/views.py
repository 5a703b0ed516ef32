import logging

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import services
from .middleware import ACTIVE_TENANT_SESSION_KEY

logger = logging.getLogger(__name__)


@require_POST
@staff_member_required
def tenant_switch(request):
    """Switch the console to another tenant the user is a member of."""
    tenant_id = request.POST.get("tenant_id", "")
    membership = next((m for m in request.memberships if str(m.tenant_id) == tenant_id), None)
    if membership is None:
        raise Http404("No such organisation.")
    request.session[ACTIVE_TENANT_SESSION_KEY] = str(membership.tenant_id)
    messages.info(request, f"You are now working in {membership.tenant.name}.")
    return redirect("admin:index")


@never_cache
@login_not_required
def console_login(request):
    """The console's sign-in page (the admin's), with failed attempts limited and recorded."""
    if request.method != "POST":
        return admin.site.login(request)
    username = request.POST.get("username", "")
    retry_after = services.console_login_retry_after(request, username=username)
    if retry_after:
        # Not an audit event: the limit already caps how many failures are recorded, and a
        # flood of refused attempts must not flood each tenant's trail.
        logger.warning("console sign-in refused: too many failed attempts")
        return _too_many_attempts(request, retry_after)
    response = admin.site.login(request)
    if response.status_code == 302 and request.user.is_authenticated:
        services.console_login_succeeded(user=request.user)
    else:
        services.console_login_failed(request, username=username)
    return response


def _too_many_attempts(request, retry_after: int):
    response = TemplateResponse(
        request,
        "admin/console_login_throttled.html",
        {
            **admin.site.each_context(request),
            "title": "Too many attempts",
            "minutes": -(-retry_after // 60),
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _console_logout(request):
    user = request.user if request.user.is_authenticated else None
    response = admin.site.logout(request)
    if user is not None and not request.user.is_authenticated:
        services.console_logout_recorded(user=user)
    return response


#: The console's sign-out (the admin's), recorded in the audit trail.
console_logout = admin.site.admin_view(_console_logout)


class ConsoleAccountSetup(PasswordResetConfirmView):
    """Where a new tenant's owner chooses a password (the link in the email tenant_create
    sends). Only this confirm step is offered: nobody can ask for such a link by entering an
    address, so an inbox alone is still no way into an existing console account."""

    template_name = "registration/password_reset_confirm.html"  # the admin's
    success_url = reverse_lazy("console_login")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        with services.system_bypass(reason="account setup"):  # a platform-level event
            services.audit_record(action="account.password_set", actor=form.user)
        messages.success(self.request, "Your password is set. Sign in with it below.")
        return response
