"""Settings for the tenant API (imported by config.settings; docs/api.md). Documented in the
README's settings table like every other setting."""

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

# Access tokens: HS256 JWTs. API_JWT_KEYS is "kid:secret,kid:secret": the first signs, all
# verify, so a key is rotated by putting a new one first and dropping the old one once
# API_TOKEN_TTL_SECONDS went by. Secrets of at least 32 characters. Unset: one key derived
# from SECRET_KEY (kid "default"), so changing SECRET_KEY also retires every token.
API_TOKEN_TTL_SECONDS = env.int("API_TOKEN_TTL_SECONDS", default=600)
API_JWT_AUDIENCE = env.str("API_JWT_AUDIENCE", default="interview-platform-api")
API_JWT_ISSUER = env.str("API_JWT_ISSUER", default="")  # empty: SITE_URL
_keys = env.str("API_JWT_KEYS", default="")


def parse_jwt_keys(value: str) -> list[tuple[str, str]]:
    keys = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        kid, _, secret = item.partition(":")
        if not kid or len(secret) < 32:
            raise ImproperlyConfigured(
                "API_JWT_KEYS must be kid:secret pairs with secrets of 32+ characters"
            )
        keys.append((kid, secret))
    return keys


API_JWT_KEYS = parse_jwt_keys(_keys)  # empty: one key derived from SECRET_KEY (settings.py)

# Per client: requests to the API, and token exchanges (DRF throttle rates: N/second|minute).
API_RATE = env.str("API_RATE", default="600/minute")
API_TOKEN_RATE = env.str("API_TOKEN_RATE", default="60/minute")
# How long an Idempotency-Key's first answer is kept for replays.
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
# Pages of lists (cursor pagination): the default and the most a client may ask for.
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=200)

for _name in ("API_TOKEN_TTL_SECONDS", "API_IDEMPOTENCY_HOURS", "API_PAGE_SIZE"):
    if vars()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be greater than 0")

# --- The operator API (provisioning/, docs/provisioning.md) -----------------------------------
# Its tokens are signed with API_JWT_KEYS too, but carry this audience, so a tenant's token is
# refused there and an operator's token by the tenant API.
OPERATOR_API_AUDIENCE = env.str("OPERATOR_API_AUDIENCE", default="interview-platform-operator")
if OPERATOR_API_AUDIENCE == API_JWT_AUDIENCE:
    raise ImproperlyConfigured("OPERATOR_API_AUDIENCE must differ from API_JWT_AUDIENCE")
# CIDR ranges (IPv4 or IPv6) the operator API answers, token exchange included. Empty: every
# network outside production; in production, none (the API stays closed until the operators'
# networks are named; "0.0.0.0/0,::/0" opens it on purpose).
OPERATOR_API_ALLOWED_NETWORKS = env.list("OPERATOR_API_ALLOWED_NETWORKS", default=[])
OPERATOR_API_NETWORKS_REQUIRED = env.str("DJANGO_ENV", default="development") == "production"


# CIDR ranges platform operators (superusers) may use the console and its live view from, and
# the operator API when OPERATOR_API_ALLOWED_NETWORKS is empty. Empty: any network.
OPERATOR_ALLOWED_NETWORKS = env.list("OPERATOR_ALLOWED_NETWORKS", default=[])


def _check_networks(name: str, values: list[str]) -> None:
    from ipaddress import ip_network

    for value in values:
        try:
            ip_network(value, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {value!r} is not a CIDR range") from exc


_check_networks("OPERATOR_API_ALLOWED_NETWORKS", OPERATOR_API_ALLOWED_NETWORKS)
_check_networks("OPERATOR_ALLOWED_NETWORKS", OPERATOR_ALLOWED_NETWORKS)

# A tenant whose deletion was asked for keeps its data this many days (suspended), so that a
# mistake can be undone by resuming it; then privacy.tasks.erase_deleted_tenants erases it.
TENANT_DELETION_GRACE_DAYS = env.int("TENANT_DELETION_GRACE_DAYS", default=30)
if TENANT_DELETION_GRACE_DAYS < 0:
    raise ImproperlyConfigured("TENANT_DELETION_GRACE_DAYS must be 0 or more")
