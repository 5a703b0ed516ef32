"""Project settings: the one place that reads the environment.

Every variable is documented in the README's settings table. Local defaults are safe and need
no external service (see config/localservices/ for the embedded PostgreSQL and Redis);
production mode (DJANGO_ENV=production) refuses to start with an insecure default.
"""

import hashlib
import importlib.util
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from .logging_settings import logging_settings

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
EMBEDDED_DIR = Path(env.str("EMBEDDED_DIR", default=str(BASE_DIR / ".embedded")))

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be one of development, test, production")
PRODUCTION = DJANGO_ENV == "production"

_INSECURE_SECRET_KEY = "insecure-local-development-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_SECRET_KEY)
# Previous keys, still accepted for what Django signed with them (console logins, interview
# session tokens) while SECRET_KEY is rotated (docs/operations.md). Not for the database's
# row-level security key, which is only ever the one derived from SECRET_KEY.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DEBUG", default=not PRODUCTION and DJANGO_ENV != "test")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

if PRODUCTION:
    problems = []
    if DEBUG:
        problems.append("DEBUG is on")
    if SECRET_KEY == _INSECURE_SECRET_KEY or len(SECRET_KEY) < 50:
        problems.append("SECRET_KEY is the default or shorter than 50 characters")
    if not ALLOWED_HOSTS or any(host in {"*", ".*"} for host in ALLOWED_HOSTS):
        problems.append("ALLOWED_HOSTS is empty or a wildcard")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems))

# Public origin used in links the platform sends (invitation emails, printed demo links).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # daphne first so that `runserver` serves ASGI (HTTP + WebSocket) as in production.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "django_ratelimit",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    # Console users' TOTP and recovery codes (tenants.services.two_factor); allauth's own
    # 2FA pages are not served (config.urls).
    "allauth.mfa",
    "core",
    "tenants",
    "webhooks",
    "interviews",
    "live",
    "invitations",
    # After invitations: its console extends the candidate pages that invitations extends.
    "privacy",
    "tenant_api",
    "provisioning",
]
if not PRODUCTION and importlib.util.find_spec("django_migration_linter"):
    # `manage.py lintmigrations` (a development tool, run by the test command).
    INSTALLED_APPS.append("django_migration_linter")

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "config.middleware.NullCharacterGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy (see "Content Security Policy" below).
    "config.security_headers.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "tenants.middleware.AccountContextMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The candidate session API (bearer session tokens) is served by a leaner middleware stack,
# see config/asgi.py.
CANDIDATE_API_PREFIX = "/api/candidate/"
CANDIDATE_API_MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "config.security_headers.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # {{ CSP_NONCE }}: the nonce an inline <script> needs (Content Security Policy).
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL is the application's role: not a superuser, no BYPASSRLS, not the table owner,
# so PostgreSQL row-level security applies to every query it makes. DATABASE_OWNER_URL is the
# role that owns the schema; only `manage.py migrate` uses it (tenants/management/commands).
# With neither set, both point at the embedded server that `scripts/run` starts.
_EMBEDDED_PG_HOST = EMBEDDED_DIR / "pg"
_embedded_url = "postgresql://{role}@/interview?host=" + str(_EMBEDDED_PG_HOST)
if "DATABASE_URL" in env:
    DATABASE_OWNER_URL = env.str("DATABASE_OWNER_URL", default="")
else:
    DATABASE_OWNER_URL = env.str(
        "DATABASE_OWNER_URL", default=_embedded_url.format(role="interview_owner")
    )
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default=_embedded_url.format(role="interview_app"),
        engine="django.db.backends.postgresql",
    )
}
# 0: under ASGI each request's synchronous work runs on a thread of its own, so a connection
# kept open after the request would outlive its thread (Django's advice for ASGI). The
# long-lived worker threads (SDP proxy, realtime worker) keep theirs: core.dbthreads.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Values travel apart from the SQL (the extended protocol), so pg_stat_activity - where every
# backend of the application role can read the others' last statements - shows $1, $2, never
# a session key, a candidate's email or an answer from another tenant's request.
DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
# The asynchronous connections of the SDP proxy (core/asyncdb.py), per web process: each
# offer holds one for a single round trip, twice, so a few serve hundreds of offers at once.
DATABASE_ASYNC_POOL_SIZE = env.int("DATABASE_ASYNC_POOL_SIZE", default=8)
DATABASE_ASYNC_POOL_TIMEOUT_SECONDS = env.float("DATABASE_ASYNC_POOL_TIMEOUT_SECONDS", default=5.0)
DATABASE_ASYNC_STATEMENT_TIMEOUT_MS = env.int("DATABASE_ASYNC_STATEMENT_TIMEOUT_MS", default=5000)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery ----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "cache",
        }
    }
    # Pub/sub: a group send is one PUBLISH. At-most-once delivery is enough for the live
    # view, whose updates are numbered and caught up from the database (docs/live-view.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "channels"},
        }
    }
else:
    # Only reached when manage.py runs without the launcher and without REDIS_URL: a single
    # process, so local-memory stand-ins are enough. The run command always provides Redis.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# kombu spells a Unix-socket Redis (the embedded one) redis+socket://
_broker_default = REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL else "memory://"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_broker_default)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Outside production what a worker prints goes to its output as printed, not through the
# logger: with the console email backend the invitation email must show its link, which the
# logger's redaction would hide (and its JSON would escape the message into one line). In
# production everything goes through the logger, so no invitation link reaches the logs.
CELERY_WORKER_REDIRECT_STDOUTS = PRODUCTION
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task taken by a worker that then died without a word (kill -9, a lost machine) waits in
# Redis's "unacked" set until this many seconds have passed since it was taken, then goes back
# to the queue (acks_late tasks, such as the summaries). Keep it above the longest countdown a
# task is scheduled with (a retry's), or such tasks are delivered twice; Celery's default is
# an hour. The sweep that puts them back runs every 10 s.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3600),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Auth, sessions -------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "core.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
# Sessions in PostgreSQL, each row readable only with its own key (core.rls).
SESSION_ENGINE = "core.sessionstore"
# Pages that find an account by name or address (signing in): every account is visible to
# them, and no tenant's data (tenants.middleware.AccountContextMiddleware). allauth's other
# pages (email addresses, connected accounts) see only the signed-in user's own.
IDENTITY_LOOKUP_PATH_PREFIXES = [
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/google/",
    "/accounts/3rdparty/signup/",
    "/admin/login/",
    "/admin/setup/",  # a new owner choosing a password (tenants.views.ConsoleAccountSetup)
]

# Candidates sign in without a password: an emailed login code, or Google.
ACCOUNT_ADAPTER = "invitations.adapters.CandidateAccountAdapter"
SOCIALACCOUNT_ADAPTER = "invitations.adapters.CandidateSocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_REQUIRED = False
# Console users (operators, staff, tenant members) get no code: invitations.adapters.
ACCOUNT_FORMS = {"request_login_code": "invitations.forms.CandidateLoginCodeForm"}
# A candidate whose code did not arrive can ask for a new one (twice) on the code page.
ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# allauth's own rate limits (login codes, signups...) need a shared cache: Redis when
# configured (see CACHES). Defaults are allauth's.
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="") or None
# Two-factor authentication for console users (docs/security.md): TOTP with recovery codes, no
# security keys; the issuer names the console in authenticator apps.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# A code from the period before or after is accepted too: a phone's clock a few seconds off,
# or a code typed as it changes, is not a failed sign-in (RFC 6238's recommended one step).
MFA_TOTP_TOLERANCE = 1
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Interview console")
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "APP": {
            "client_id": env.str("GOOGLE_CLIENT_ID", default=""),
            "secret": env.str("GOOGLE_CLIENT_SECRET", default=""),
        },
        "SCOPE": ["openid", "email", "profile"],
        "AUTH_PARAMS": {"prompt": "select_account"},
        "OAUTH_PKCE_ENABLED": True,
        "EMAIL_AUTHENTICATION": True,
    }
}
GOOGLE_LOGIN_ENABLED = bool(SOCIALACCOUNT_PROVIDERS["google"]["APP"]["client_id"])

# --- I18N, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times to the second (config/formats/en): a locale's own formats beat DATETIME_FORMAT.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Session archives written by the retention job (privacy.archive): a local folder, or an
# S3-compatible bucket when ARCHIVE_S3_BUCKET is set. They hold interview transcripts and
# candidates' names and addresses: the folder is readable by this process's user only.
ARCHIVE_ROOT = Path(env.str("ARCHIVE_ROOT", default=str(BASE_DIR / "archive")))
ARCHIVE_S3_BUCKET = env.str("ARCHIVE_S3_BUCKET", default="")
if ARCHIVE_S3_BUCKET:
    STORAGES["archive"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ARCHIVE_S3_BUCKET,
            "location": env.str("ARCHIVE_S3_PREFIX", default="").strip("/"),
            # Empty: boto3's own lookup (its environment variables, an instance role).
            "endpoint_url": env.str("ARCHIVE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ARCHIVE_S3_REGION", default="") or None,
            "access_key": env.str("ARCHIVE_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("ARCHIVE_S3_SECRET_ACCESS_KEY", default="") or None,
            # Private objects; a name is written again only by a rerun of the same session.
            "default_acl": None,
            "file_overwrite": True,
            "querystring_auth": True,
        },
    }
else:
    STORAGES["archive"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": ARCHIVE_ROOT,
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }

# Static files: in production Fly serves the collected files itself ([[statics]] in fly.toml),
# so no request for them reaches Python. Elsewhere the ASGI app serves them from the finders
# (config/asgi.py). Keeping this out of the middleware keeps every middleware asynchronous.
SERVE_STATIC = env.bool("SERVE_STATIC", default=not PRODUCTION)

# --- Email ----------------------------------------------------------------------------------
# EMAIL_URL (smtp+tls://user:password@host:587) selects SMTP; EMAIL_BACKEND can name any
# backend instead, e.g. an anymail ESP ("anymail.backends.postmark.EmailBackend" with
# ANYMAIL_API_KEY). With neither, email is printed to the console.
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)  # EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS, ... as django-environ documents
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=_email["EMAIL_BACKEND"])
# Backends that deliver nothing: production would print candidates' invitation links and sign-in
# codes to its log instead of sending them.
_UNDELIVERED_EMAIL = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
if PRODUCTION and EMAIL_BACKEND in _UNDELIVERED_EMAIL:
    raise ImproperlyConfigured(
        "Refusing to start in production: email is not delivered (set EMAIL_URL or EMAIL_BACKEND)"
    )
ANYMAIL = {"API_KEY": env.str("ANYMAIL_API_KEY", default="")} if "ANYMAIL_API_KEY" in env else {}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="interviews@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, size/depth-capped, no NUL or lone surrogates (config.api.JSONBodyParser).
    "DEFAULT_PARSER_CLASSES": ["config.api.JSONBodyParser"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI interview platform API",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page loads swagger-ui from our static files (drf-spectacular-sidecar, pinned),
    # not from a CDN at @latest without an integrity check.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status": each choice set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "CandidateStatusEnum": "interviews.models.CandidateStatus",
        "SessionStatusEnum": "interviews.models.SessionStatus",
    },
}

# --- Requests, proxies, logging -------------------------------------------------------------
# Header carrying the real client IP when behind a proxy (Fly.io sets Fly-Client-IP).
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="")
RATELIMIT_IP_META_KEY = (
    "HTTP_" + CLIENT_IP_HEADER.upper().replace("-", "_") if CLIENT_IP_HEADER else None
)
RATELIMIT_VIEW = "invitations.views.rate_limited"
# Opening invitation links, per client IP (guessing tokens is hopeless, this makes it slow too).
INVITATION_OPEN_RATE = env.str("INVITATION_OPEN_RATE", default="30/m")
# Failed console sign-ins (tenants.views.console_login) allowed in a window ("5/15m": 5 per
# 15 minutes); then 429 until the window ends, even for the right password. Per account from
# one client IP (the tight one: a stranger cannot lock its owner out from elsewhere with it),
# per account from anywhere (looser: guessing spread over many addresses), and per client IP.
CONSOLE_LOGIN_FAILURES_PER_ACCOUNT = env.str("CONSOLE_LOGIN_FAILURES_PER_ACCOUNT", default="5/15m")
CONSOLE_LOGIN_FAILURES_PER_ACCOUNT_ANY_IP = env.str(
    "CONSOLE_LOGIN_FAILURES_PER_ACCOUNT_ANY_IP", default="50/15m"
)
CONSOLE_LOGIN_FAILURES_PER_IP = env.str("CONSOLE_LOGIN_FAILURES_PER_IP", default="30/15m")
# Wrong two-factor codes (sign-in's second step, turning 2FA off) per account: a 6-digit code
# is a million guesses, so a handful per window, then 429 until the window ends.
CONSOLE_TWO_FACTOR_FAILURES_PER_ACCOUNT = env.str(
    "CONSOLE_TWO_FACTOR_FAILURES_PER_ACCOUNT", default="5/15m"
)
# django-ratelimit only lists django-redis as "supported"; Django's own RedisCache increments
# atomically with INCR as well, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if not REDIS_URL:
    # Single-process local use only (manage.py without the launcher): per-process limits.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_settings(LOG_LEVEL)

# --- Production hardening (check --deploy is clean) -----------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Platform health checks do not follow redirects.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Paths where the recruiter console's tenant scoping applies (tenants.middleware).
CONSOLE_PATH_PREFIXES = ["/admin/"]

# --- Content Security Policy (docs/security.md) ---------------------------------------------
# django-csp 4's policy for the candidate pages, and the base of every other page's:
# config.security_headers adds the provider origins from the settings at each request
# (connect-src: OPENAI_BASE_URL and the video upload host; the console's media-src: the video
# asset host; form-action: Google's sign-in when it is on). Scripts only from our own files
# or with the response's nonce; styles only from our own files: no 'unsafe-inline' anywhere.
from csp.constants import NONCE  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # data: for the pages' empty favicon (data:,)
        "media-src": ["'self'"],
        "connect-src": ["'self'"],  # 'self' covers our own WebSockets (ws:/wss:)
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

if DJANGO_ENV == "test":
    # Tests create many users; a fast hash keeps the suite quick (never used outside tests).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Realtime interviews and AI summaries: config/settings_ai.py ----------------------------
from .settings_ai import *  # noqa: E402, F403

# --- The tenant API (access tokens, rates, idempotency): config/settings_api.py -------------
from .settings_api import *  # noqa: E402, F403

# --- Retention and the periodic jobs: config/settings_jobs.py ------------------------------
from .settings_jobs import *  # noqa: E402, F403

# --- Migrations on a live database (time limits, lock check, linter): settings_migrations --
from .settings_migrations import *  # noqa: E402, F403

# --- Metrics and error tracking: config/settings_observability.py ---------------------------
from .settings_observability import *  # noqa: E402, F403

# --- Interview video at api.video: config/settings_video.py ---------------------------------
from .settings_video import *  # noqa: E402, F403

# --- Outgoing webhooks: config/settings_webhooks.py -----------------------------------------
from .settings_webhooks import *  # noqa: E402, F403

API_JWT_ISSUER = API_JWT_ISSUER or SITE_URL  # noqa: F405
API_JWT_KEYS = API_JWT_KEYS or [  # noqa: F405
    ("default", hashlib.sha256(f"api-jwt:{SECRET_KEY}".encode()).hexdigest())
]
