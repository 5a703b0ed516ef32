"""Console users' two-factor authentication: a TOTP authenticator app, with recovery codes for
a lost phone. Stored in allauth.mfa's ``Authenticator`` table (behind the database wall: each
user sees only their own rows, tenants migration 0011) and checked with allauth.mfa's own TOTP
and recovery-code code, so nothing of the algorithm is ours. Wrong codes are limited per
account like console sign-ins, and enrolment, switching off, recovery codes used and wrong
codes are all in the audit trail."""

from __future__ import annotations

import re
import time

from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction

from core import rls

from .. import selectors
from .bypass import system_bypass
from .signin import console_account_record

WRONG_CODE = "That code is not right. Enter the 6-digit code your app shows now."


class TwoFactorThrottled(Exception):
    """Too many wrong codes for this account: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def two_factor_secret_new() -> str:
    """A fresh TOTP secret for an enrolment (kept in the browser session until confirmed)."""
    return generate_totp_secret()


def two_factor_setup_details(*, user, secret: str) -> dict:
    """What the enrolment page shows: the otpauth:// URL as a QR code (SVG) and the secret
    itself, for typing into an app by hand."""
    adapter = get_adapter()
    url = adapter.build_totp_url(user, secret)
    svg = adapter.build_totp_svg(url)
    # The SVG element alone, for the page's HTML (not the XML declaration before it).
    return {"secret": secret, "url": url, "qr_svg": svg[svg.index("<svg") :]}


@transaction.atomic
def two_factor_enrol(*, user, secret: str, code: str) -> list[str]:
    """Turn two-factor sign-in on for ``user`` once ``code`` shows their app holds ``secret``;
    returns their new recovery codes (each works once) to show them this one time."""
    code = "".join((code or "").split())
    with rls.user_context(user.pk):
        if Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists():
            raise ValidationError("Two-factor authentication is already on.")
        # Checked by the new authenticator itself, which also spends the code: it cannot be
        # replayed to sign in (a failure rolls the authenticator back with the transaction).
        if not TOTP.activate(user, secret).validate_code(code):
            raise ValidationError({"code": WRONG_CODE})
        Authenticator.objects.filter(
            user_id=user.pk, type=Authenticator.Type.RECOVERY_CODES
        ).delete()
        codes = RecoveryCodes.activate(user).generate_codes()
    selectors.two_factor_state_forget(user)
    console_account_record(action="two_factor.enrolled", user=user, actor=user)
    return codes


def two_factor_recovery_codes_left(user) -> int:
    """How many of ``user``'s recovery codes are still unused."""
    with rls.user_context(user.pk):
        found = Authenticator.objects.filter(
            user_id=user.pk, type=Authenticator.Type.RECOVERY_CODES
        ).first()
        return len(RecoveryCodes(found).get_unused_codes()) if found else 0


_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _rate() -> tuple[int, int]:
    """CONSOLE_TWO_FACTOR_FAILURES_PER_ACCOUNT ("5/15m") as (codes, seconds)."""
    match = _RATE.match(settings.CONSOLE_TWO_FACTOR_FAILURES_PER_ACCOUNT)
    if match is None:
        raise ImproperlyConfigured("CONSOLE_TWO_FACTOR_FAILURES_PER_ACCOUNT: like 5/15m")
    count, number, unit = match.groups()
    return int(count), int(number or 1) * _UNIT_SECONDS[unit]


def _attempt_key(user) -> tuple[str, int, int]:
    """The cache counter of ``user``'s codes in the current window, the limit, and the seconds
    left in the window."""
    limit, period = _rate()
    now = int(time.time())
    window_end = now - now % period + period
    return f"console-two-factor:{user.pk}:{window_end}", limit, window_end - now


def _attempt_reserve(user) -> str:
    """Count this code before it is checked, in one atomic step of the shared cache: guesses
    sent in parallel cannot all pass the limit (checking first and counting after a failure
    let them). Raises TwoFactorThrottled past the limit; returns the counter's key, for the
    attempt to be given back if the code is right."""
    key, limit, seconds_left = _attempt_key(user)
    cache.add(key, 0, seconds_left + 5)
    if cache.incr(key) > limit:
        raise TwoFactorThrottled(max(seconds_left, 1))
    return key


def two_factor_retry_after(request, *, user) -> int:
    """Seconds until ``user`` may try a code again after too many wrong ones, or 0."""
    key, limit, seconds_left = _attempt_key(user)
    return max(seconds_left, 1) if (cache.get(key) or 0) >= limit else 0


def two_factor_verify(request, *, user, code: str) -> str:
    """Check a code ``user`` typed: the TOTP their app shows now (each accepted once), else one
    of their recovery codes (then used up). Returns "totp" or "recovery_code"; raises
    ValidationError for a wrong code (counted and recorded) and TwoFactorThrottled past the
    limit, whatever the code."""
    attempt = _attempt_reserve(user)
    code = "".join((code or "").split())
    with rls.user_context(user.pk):
        found = {a.type: a for a in Authenticator.objects.filter(user_id=user.pk).order_by("pk")}
        totp = found.get(Authenticator.Type.TOTP)
        recovery = found.get(Authenticator.Type.RECOVERY_CODES)
        if totp is not None and code and TOTP(totp).validate_code(code):
            totp.record_usage()
            cache.decr(attempt)  # a right code does not count against the limit
            return "totp"
        if totp is not None and recovery is not None and code:
            codes = RecoveryCodes(recovery)
            if codes.validate_code(code):
                codes.instance.record_usage()
                cache.decr(attempt)
                left = len(codes.get_unused_codes())
                console_account_record(
                    action="two_factor.recovery_code_used",
                    user=user,
                    actor=user,
                    details={"codes_left": left},
                )
                return "recovery_code"
    console_account_record(action="two_factor.failed", user=user)
    raise ValidationError({"code": WRONG_CODE})


def two_factor_disable(request, *, user, code: str, memberships) -> None:
    """Turn two-factor sign-in off for ``user``, who proves it is them with a current code (or
    a recovery code). Refused while a tenant of theirs requires it."""
    if selectors.two_factor_required(memberships):
        raise ValidationError(
            "Your organisation requires two-factor authentication: it cannot be turned off."
        )
    two_factor_verify(request, user=user, code=code)
    with rls.user_context(user.pk):
        Authenticator.objects.filter(user_id=user.pk).delete()
    selectors.two_factor_state_forget(user)
    console_account_record(action="two_factor.disabled", user=user, actor=user)


def two_factor_reset(*, user, actor=None, actor_label: str = "system") -> bool:
    """Remove ``user``'s two-factor authentication for them, when they lost both their phone
    and their recovery codes (a platform operator does it: ``manage.py two_factor_reset``).
    They sign in with their password alone next time, and set it up again (at once, if a
    tenant of theirs requires it). Returns whether they had any."""
    with system_bypass(reason="two_factor.reset"):
        deleted, _ = Authenticator.objects.filter(user_id=user.pk).delete()
    selectors.two_factor_state_forget(user)
    if deleted:
        console_account_record(
            action="two_factor.reset", user=user, actor=actor, details={"by": actor_label}
        )
    return bool(deleted)
