import logging
import time

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView, PasswordResetConfirmView
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import selectors, services
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
    response = _password_step(request)
    if getattr(response, "two_factor_pending", False):
        return response  # the right password; signed in (and recorded) after the code
    if response.status_code == 302 and request.user.is_authenticated:
        services.console_login_succeeded(user=request.user)
    else:
        services.console_login_failed(request, username=username)
    return response


# --- Two-factor sign-in: the code after the password ----------------------------------------

_PENDING_SESSION_KEY = "console_two_factor_pending"
_PENDING_SECONDS = 5 * 60


class _ConsolePasswordLogin(LoginView):
    """The admin's sign-in, except that an account with two-factor authentication is not
    signed in by its password alone: the browser session remembers who typed it (for a few
    minutes) and the code page finishes the sign-in."""

    def form_valid(self, form):
        user = form.get_user()
        if not selectors.two_factor_enabled(user):
            return super().form_valid(form)
        self.request.session[_PENDING_SESSION_KEY] = {
            "user_id": user.pk,
            "backend": user.backend,
            "next": self.get_success_url(),
            "at": time.time(),
        }
        response = HttpResponseRedirect(reverse("console_login_code"))
        response.two_factor_pending = True
        return response


def _password_step(request):
    # What admin.site.login does, with the view above in place of Django's LoginView.
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index")
    request.current_app = admin.site.name
    return _ConsolePasswordLogin.as_view(
        extra_context=context,
        authentication_form=admin.site.login_form or AdminAuthenticationForm,
        template_name=admin.site.login_template or "admin/login.html",
    )(request)


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=64,
        help_text="The 6-digit code your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def _pending_user(request):
    pending = request.session.get(_PENDING_SESSION_KEY)
    if not pending or time.time() - pending.get("at", 0) > _PENDING_SECONDS:
        return None, None
    # Found by id while signing in (this path is one of IDENTITY_LOOKUP_PATH_PREFIXES).
    user = get_user_model()._default_manager.filter(pk=pending["user_id"], is_active=True).first()
    return user, pending


@never_cache
@login_not_required
def console_login_code(request):
    """The sign-in's second step for an account with two-factor authentication: the code from
    its authenticator app, or one of its recovery codes (each works once). Wrong codes are
    limited per account and recorded."""
    user, pending = _pending_user(request)
    if user is None:
        request.session.pop(_PENDING_SESSION_KEY, None)
        messages.info(request, "Sign in again: the sign-in took too long or was not started.")
        return redirect("console_login")
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            kind = services.two_factor_verify(request, user=user, code=form.cleaned_data["code"])
        except services.TwoFactorThrottled as throttled:
            logger.warning("console two-factor code refused: too many wrong codes")
            return _too_many_attempts(request, throttled.retry_after)
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            del request.session[_PENDING_SESSION_KEY]
            auth_login(request, user, backend=pending["backend"])
            # This browser session passed the second factor (the console asks on every
            # request: tenants.middleware).
            request.session[selectors.TWO_FACTOR_SESSION_KEY] = selectors.two_factor_state(user)
            services.console_login_succeeded(user=user, second_factor=kind)
            if kind == "recovery_code":
                messages.warning(
                    request,
                    "You signed in with a recovery code, which now no longer works. "
                    f"{services.two_factor_recovery_codes_left(user)} are left.",
                )
            target = pending.get("next") or reverse("admin:index")
            if not url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                target = reverse("admin:index")
            return redirect(target)
    return TemplateResponse(
        request,
        "admin/console_login_code.html",
        {
            **admin.site.each_context(request),
            "title": "Two-factor authentication",
            "form": form,
            "is_nav_sidebar_enabled": False,
        },
    )


# --- Two-factor authentication: setting it up and switching it off --------------------------

_SETUP_SECRET_SESSION_KEY = "console_two_factor_setup_secret"  # noqa: S105 (a key's name)


def _two_factor(request):
    """The console user's own two-factor page: set it up (scan the QR code or type the
    secret, confirm with a code, see the recovery codes once), or switch it off (with a code;
    not while a tenant of theirs requires it)."""
    user = request.user
    form = TwoFactorCodeForm(request.POST or None)
    context = {
        **admin.site.each_context(request),
        "title": "Two-factor authentication",
        "form": form,
        "required": selectors.two_factor_required(request.memberships),
    }
    if selectors.two_factor_enabled(user):
        if request.method == "POST" and form.is_valid():
            try:
                services.two_factor_disable(
                    request,
                    user=user,
                    code=form.cleaned_data["code"],
                    memberships=request.memberships,
                )
            except services.TwoFactorThrottled as throttled:
                return _too_many_attempts(request, throttled.retry_after)
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, "Two-factor authentication is off.")
                return redirect("console_two_factor")
        context.update(enabled=True, codes_left=services.two_factor_recovery_codes_left(user))
        return TemplateResponse(request, "admin/console_two_factor.html", context)
    secret = request.session.get(_SETUP_SECRET_SESSION_KEY)
    if not secret:
        secret = request.session[_SETUP_SECRET_SESSION_KEY] = services.two_factor_secret_new()
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.two_factor_enrol(
                user=user, secret=secret, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            del request.session[_SETUP_SECRET_SESSION_KEY]
            # This session proved the new authenticator; every other session of the account
            # signs in again, with it. A new session key too, as at any sign-in.
            request.session.cycle_key()
            request.session[selectors.TWO_FACTOR_SESSION_KEY] = selectors.two_factor_state(user)
            context.update(enabled=True, recovery_codes=codes, form=None)
            return TemplateResponse(request, "admin/console_two_factor.html", context)
    details = services.two_factor_setup_details(user=user, secret=secret)
    # The QR code is an SVG that the qrcode library drew from our own otpauth:// URL.
    context.update(enabled=False, secret=secret, qr_svg=mark_safe(details["qr_svg"]))  # noqa: S308
    return TemplateResponse(request, "admin/console_two_factor.html", context)


#: The console user's two-factor page (any console user: members and operators).
console_two_factor = never_cache(admin.site.admin_view(_two_factor))


def _console_password_change(request):
    response = admin.site.password_change(request)
    if request.method == "POST" and response.status_code == 302:
        services.console_password_changed(user=request.user)
    return response


#: The admin's change-your-password page, recorded in the audit trail.
console_password_change = admin.site.admin_view(_console_password_change)


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
