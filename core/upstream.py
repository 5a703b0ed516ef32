"""What the platform's upstream HTTP services (OpenAI's Realtime and Responses APIs) say
about their own errors: how long they ask us to wait, and which answers mean the platform's
setup is at fault rather than the one request. Shared by ``live`` (the realtime provider)
and ``interviews`` (summaries), which know nothing of each other."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Answers about the platform's own account or setup rather than about one request, whatever
#: the status they come with: asking again cannot help. 401 (the key), 403 (the project's
#: access) and 404 (the model, or a base URL that is not the provider's) are too.
MISCONFIGURED_CODES = frozenset(
    {
        "invalid_api_key",
        "account_deactivated",
        "unsupported_country_region_territory",
        "model_not_found",
        "insufficient_quota",
        "billing_not_active",
        "billing_hard_limit_reached",
    }
)
MISCONFIGURED_STATUSES = frozenset({401, 403, 404})

MAX_RETRY_AFTER_SECONDS = 3600


def retry_after_seconds(headers) -> float | None:
    """How long the provider asks us to wait: ``retry-after-ms`` (OpenAI's own) or
    ``Retry-After`` in seconds or as an HTTP date; None when it does not say."""
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    seconds = None
    with contextlib.suppress(TypeError, ValueError):
        if headers.get("retry-after-ms") is not None:
            seconds = float(headers["retry-after-ms"]) / 1000
    if seconds is None and headers.get("retry-after"):
        value = headers["retry-after"].strip()
        try:
            seconds = float(value)
        except ValueError:
            with contextlib.suppress(TypeError, ValueError, IndexError):
                when = parsedate_to_datetime(value)
                seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds is None or seconds != seconds:  # absent or NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
