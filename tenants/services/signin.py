"""Console sign-in. The console's sign-in page (tenants.views.console_login) limits failed
attempts per account and per client IP, and every sign-in, failed sign-in and sign-out is in
the audit trail: in each tenant the account belongs to, or platform-level for operators and
unknown accounts. Also the sign-in time on the account, for any sign-in."""

from __future__ import annotations

import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_ratelimit.core import get_usage

from core import requestcontext, rls

from .. import selectors
from .audit import audit_record
from .bypass import system_bypass

User = get_user_model()

_LOGIN_FAILURE_LIMITS = (
    # (counter, setting with its rate)
    ("console-login-account-ip", "CONSOLE_LOGIN_FAILURES_PER_ACCOUNT"),
    ("console-login-account", "CONSOLE_LOGIN_FAILURES_PER_ACCOUNT_ANY_IP"),
    ("console-login-ip", "CONSOLE_LOGIN_FAILURES_PER_IP"),
)


def console_username_normalize(username: str) -> str:
    """One spelling per account for the failure counter, so "Ann@X.com " counts as ann@x.com."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()


def _login_failure_usage(request, *, username: str, increment: bool) -> list[dict]:
    account, ip = console_username_normalize(username), requestcontext.client_ip.get() or ""
    keys = {
        "console-login-account-ip": f"{account}|{ip}",
        "console-login-account": account,
        "console-login-ip": ip,
    }
    usages = []
    for group, setting in _LOGIN_FAILURE_LIMITS:
        usage = get_usage(
            request,
            group=group,
            key=lambda _group, _request, value=keys[group]: value,
            rate=getattr(settings, setting),
            increment=increment,
        )
        if usage is not None:
            usages.append(usage)
    return usages


def console_login_retry_after(request, *, username: str) -> int:
    """Seconds until a sign-in to ``username`` from this client may be tried again, or 0.
    Checked before the password, so that once the limit is reached even the right one waits."""
    waits = [
        max(usage["time_left"], 1)
        for usage in _login_failure_usage(request, username=username, increment=False)
        if usage["count"] >= usage["limit"]
    ]
    return max(waits, default=0)


def console_account_record(*, action: str, user, actor=None, details=None) -> None:
    """Record an event about a console account in the trail of each tenant it belongs to, or
    platform-level for an operator's (or a member of none)."""
    tenant_ids = selectors.member_tenant_ids(user)
    actor_label = "anonymous"
    if not tenant_ids:
        with system_bypass(reason=action):
            audit_record(
                action=action, actor=actor, actor_label=actor_label, target=user, details=details
            )
    for tenant_id in tenant_ids:
        with rls.tenant_context(tenant_id):
            audit_record(
                action=action,
                tenant_id=tenant_id,
                actor=actor,
                actor_label=actor_label,
                target=user,
                details=details,
            )


def console_login_succeeded(*, user, second_factor: str = "") -> None:
    """Record a sign-in to the console (``second_factor``: "totp" or "recovery_code" when a
    code was asked for as well as the password)."""
    details = {"second_factor": second_factor} if second_factor else None
    console_account_record(action="console.login", user=user, actor=user, details=details)


def console_login_failed(request, *, username: str) -> None:
    """Count a failed sign-in against the account and the client IP, and record it.

    For an existing account the event targets it (in each of its tenants). For a username that
    matches no account nothing of what was typed is kept: it is often a mistyped address or a
    password typed into the wrong field.
    """
    _login_failure_usage(request, username=username, increment=True)
    try:
        user = User._default_manager.get_by_natural_key(username)
    except User.DoesNotExist:
        with system_bypass(reason="console.login_failed"):
            audit_record(
                action="console.login_failed",
                actor_label="anonymous",
                details={"account": "unknown"},
            )
        return
    console_account_record(action="console.login_failed", user=user)


def console_password_changed(*, user) -> None:
    """Record that ``user`` changed their password at the console."""
    console_account_record(action="account.password_changed", user=user, actor=user)


def console_logout_recorded(*, user) -> None:
    """Record a sign-out from the console."""
    console_account_record(action="console.logout", user=user, actor=user)


def user_record_login(sender, user, **kwargs) -> None:
    """Note the time of ``user``'s sign-in on their account (Django's ``last_login``), as that
    user: accounts are behind the database wall (``user_logged_in`` receiver, any sign-in)."""
    user.last_login = timezone.now()
    with rls.user_context(user.pk):
        type(user)._default_manager.filter(pk=user.pk).update(last_login=user.last_login)
