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
