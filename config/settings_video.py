"""Settings for interview video at api.video (imported by config.settings; docs/video.md).
Documented in the README's settings table like every other setting."""

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

# With no APIVIDEO_API_KEY the platform talks to the local fake of api.video
# (devtools.apivideo, started by the run command on APIVIDEO_FAKE_PORT); the client code is
# the same. The sandbox is https://sandbox.api.video (watermarked, deleted after 24 h).
APIVIDEO_API_KEY = env.str("APIVIDEO_API_KEY", default="")
APIVIDEO_FAKE_PORT = env.int("APIVIDEO_FAKE_PORT", default=8766)
APIVIDEO_BASE_URL = env.str(
    "APIVIDEO_BASE_URL",
    default="https://ws.api.video"
    if APIVIDEO_API_KEY
    else f"http://127.0.0.1:{APIVIDEO_FAKE_PORT}",
).rstrip("/")
# Where the browser uploads (the provider's own host; empty: APIVIDEO_BASE_URL).
APIVIDEO_UPLOAD_BASE_URL = env.str("APIVIDEO_UPLOAD_BASE_URL", default="").rstrip("/")
# Where the browser fetches a recording to play it in the console (the Content-Security-Policy's
# media-src; config.security_headers). Empty: https://vod.api.video for api.video's own API
# hosts, else APIVIDEO_BASE_URL (the local fake serves its assets itself).
APIVIDEO_ASSET_BASE_URL = env.str("APIVIDEO_ASSET_BASE_URL", default="").rstrip("/")
# The webhook's signatureSecret (api.video gives it when the webhook is registered). The
# fake signs with this development value when there is no key.
APIVIDEO_WEBHOOK_SECRET = env.str(
    "APIVIDEO_WEBHOOK_SECRET", default="" if APIVIDEO_API_KEY else "local-fake-webhook-secret"
)
APIVIDEO_TIMEOUT_SECONDS = env.float("APIVIDEO_TIMEOUT_SECONDS", default=15.0)
APIVIDEO_CONNECT_TIMEOUT_SECONDS = env.float("APIVIDEO_CONNECT_TIMEOUT_SECONDS", default=5.0)
# Lifetime of the browser's delegated upload token (one per segment).
VIDEO_UPLOAD_TOKEN_TTL_SECONDS = env.int("VIDEO_UPLOAD_TOKEN_TTL_SECONDS", default=7200)
# A segment still recording/uploaded this long after it was created is asked about at the
# provider (beat job); one not playable after VIDEO_FAIL_AFTER_HOURS is marked failed.
VIDEO_RECONCILE_AFTER_MINUTES = env.int("VIDEO_RECONCILE_AFTER_MINUTES", default=30)
VIDEO_FAIL_AFTER_HOURS = env.int("VIDEO_FAIL_AFTER_HOURS", default=24)
# Deleting a recording at the provider: attempts, and the exponential backoff between them.
VIDEO_DELETE_MAX_ATTEMPTS = env.int("VIDEO_DELETE_MAX_ATTEMPTS", default=6)
VIDEO_DELETE_BACKOFF_SECONDS = env.float("VIDEO_DELETE_BACKOFF_SECONDS", default=30.0)
VIDEO_DELETE_BACKOFF_MAX_SECONDS = env.float("VIDEO_DELETE_BACKOFF_MAX_SECONDS", default=3600.0)
# The interview page's recorder: MediaRecorder timeslices of VIDEO_TIMESLICE_MS, gathered
# into parts of at least VIDEO_UPLOAD_PART_BYTES (api.video's progressive upload wants every
# part but the last to be at least 5 MiB: MIN_CHUNK_SIZE in @api.video/video-uploader).
VIDEO_TIMESLICE_MS = env.int("VIDEO_TIMESLICE_MS", default=5000)
VIDEO_UPLOAD_PART_BYTES = env.int("VIDEO_UPLOAD_PART_BYTES", default=5 * 1024 * 1024)
for _name in (
    "VIDEO_TIMESLICE_MS",
    "VIDEO_UPLOAD_PART_BYTES",
    "APIVIDEO_TIMEOUT_SECONDS",
    "APIVIDEO_CONNECT_TIMEOUT_SECONDS",
    "VIDEO_UPLOAD_TOKEN_TTL_SECONDS",
    "VIDEO_RECONCILE_AFTER_MINUTES",
    "VIDEO_FAIL_AFTER_HOURS",
    "VIDEO_DELETE_MAX_ATTEMPTS",
):
    if vars()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be greater than 0")
