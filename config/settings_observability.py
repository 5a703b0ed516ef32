"""Settings for the operators' metrics and error tracking (imported by config.settings;
docs/observability.md). Documented in the README's settings table like every other setting."""

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()
_ENVIRONMENT = env.str("DJANGO_ENV", default="development")

# Each process (daphne, the Celery worker, the realtime worker) serves its Prometheus metrics
# at /metrics on this port, never on the public web port; 0 (the default) serves none. On
# Fly no service exposes it: only the organisation's private network (and Fly's Prometheus,
# fly.toml [[metrics]]) reaches it.
METRICS_PORT = env.int("METRICS_PORT", default=0)
# "::" listens on IPv6 and IPv4 (Fly's private network is IPv6).
METRICS_ADDR = env.str("METRICS_ADDR", default="::")
# When set, every scrape must send "Authorization: Bearer <METRICS_TOKEN>" (for a Prometheus
# of your own; Fly's hosted one sends no credentials, so leave it empty there).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 32 characters")

# Error tracking: on when SENTRY_DSN is set, with personal data scrubbed (config/sentry.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default=_ENVIRONMENT)
# The release events are filed under: Fly sets FLY_IMAGE_REF to the deployed image.
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default=env.str("FLY_IMAGE_REF", default=""))
# Share of requests traced for performance (0 to 1); errors are always sent.
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from .sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
