"""Settings for outgoing webhooks (imported by config.settings; docs/webhooks.md).
Documented in the README's settings table like every other setting."""

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()
_PRODUCTION = env.str("DJANGO_ENV", default="development") == "production"

# Endpoints may be on loopback, private and link-local addresses: on for development and
# tests (a receiver on this machine), off in production, where it would let a tenant make
# the platform call its own internal network or the cloud's metadata service.
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=not _PRODUCTION)
if (
    _PRODUCTION
    and WEBHOOKS_ALLOW_PRIVATE
    and not env.bool("WEBHOOKS_ALLOW_PRIVATE_IN_PRODUCTION", default=False)
):
    raise ImproperlyConfigured(
        "WEBHOOKS_ALLOW_PRIVATE is on in production; set WEBHOOKS_ALLOW_PRIVATE_IN_PRODUCTION "
        "too if the platform really should call private addresses"
    )
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=15.0)
WEBHOOKS_CONNECT_TIMEOUT_SECONDS = env.float("WEBHOOKS_CONNECT_TIMEOUT_SECONDS", default=5.0)
# Seconds to wait before each retry of a failed delivery (jitter is added): the first attempt
# plus one per entry, over about a day and a half by default.
WEBHOOKS_RETRY_SCHEDULE = [
    int(seconds)
    for seconds in env.list(
        "WEBHOOKS_RETRY_SCHEDULE", default=["5", "300", "1800", "7200", "18000", "36000", "36000"]
    )
]
if not WEBHOOKS_RETRY_SCHEDULE or min(WEBHOOKS_RETRY_SCHEDULE) < 1:
    raise ImproperlyConfigured("WEBHOOKS_RETRY_SCHEDULE must list positive numbers of seconds")
# An endpoint is disabled (and its tenant's owners emailed) after this many deliveries in a
# row gave up, or after failing without a single success for this many days.
WEBHOOKS_DISABLE_AFTER_DEAD = env.int("WEBHOOKS_DISABLE_AFTER_DEAD", default=5)
WEBHOOKS_DISABLE_AFTER_DAYS = env.int("WEBHOOKS_DISABLE_AFTER_DAYS", default=5)
# The delivery log (with each payload) is kept this many days.
WEBHOOKS_DELIVERY_LOG_DAYS = env.int("WEBHOOKS_DELIVERY_LOG_DAYS", default=30)
