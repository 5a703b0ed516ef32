"""Settings for the AI services (imported by config.settings): the realtime provider of the
live interview and the Responses API that writes the summaries. Documented in the README's
settings table like every other setting."""

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

# --- Realtime interviews ---------------------------------------------------------------------
# With no OPENAI_API_KEY the platform talks to the local simulator (devtools.simulator), which
# serves the same protocol at SIMULATOR_URL; the client code is the same.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
SIMULATOR_PORT = env.int("SIMULATOR_PORT", default=8765)
OPENAI_BASE_URL = env.str(
    "OPENAI_BASE_URL",
    default="https://api.openai.com/v1"
    if OPENAI_API_KEY
    else f"http://127.0.0.1:{SIMULATOR_PORT}/v1",
).rstrip("/")
REALTIME_MODEL = env.str("REALTIME_MODEL", default="gpt-realtime")
REALTIME_TRANSCRIPTION_MODEL = env.str("REALTIME_TRANSCRIPTION_MODEL", default="gpt-4o-transcribe")
REALTIME_TIMEOUT_SECONDS = env.float("REALTIME_TIMEOUT_SECONDS", default=15.0)
REALTIME_CONNECT_TIMEOUT_SECONDS = env.float("REALTIME_CONNECT_TIMEOUT_SECONDS", default=5.0)
# The realtime worker's database threads, each with one connection: its database connections
# (plus one that listens for new calls) however many calls it follows.
REALTIME_DB_CONNECTIONS = env.int("REALTIME_DB_CONNECTIONS", default=4)
# A realtime worker's lock on each call it follows lapses this long after the worker dies: then
# another worker follows the call (within its next scan, every 2 s).
REALTIME_LOCK_TTL_SECONDS = env.float("REALTIME_LOCK_TTL_SECONDS", default=6.0)
# The realtime worker's name on the call locks it holds: stable across restarts of the same
# worker (a Fly machine runs one; its id), unique among the workers running at once. A worker
# restarted under the same name takes its calls back at once instead of waiting out its own
# locks (REALTIME_LOCK_TTL_SECONDS without a sideband). Empty: host and process id (a
# restart waits).
REALTIME_WORKER_ID = env.str("REALTIME_WORKER_ID", default=env.str("FLY_MACHINE_ID", default=""))
# The candidate's session credential (live.tokens).
SESSION_TOKEN_TTL_SECONDS = env.int("SESSION_TOKEN_TTL_SECONDS", default=600)
# A connecting/live session with no heartbeat for this long is abandoned.
SESSION_HEARTBEAT_TIMEOUT_SECONDS = env.int("SESSION_HEARTBEAT_TIMEOUT_SECONDS", default=120)
# A pending session nobody connected within this long is abandoned.
SESSION_PENDING_TTL_HOURS = env.int("SESSION_PENDING_TTL_HOURS", default=24)

# --- AI summaries (docs/summaries.md) ---------------------------------------------------------
# After an interview a worker writes an advisory summary with the Responses API at
# OPENAI_BASE_URL (the simulator answers it too when there is no key).
SUMMARIES_ENABLED = env.bool("SUMMARIES_ENABLED", default=True)
SUMMARY_MODEL = env.str("SUMMARY_MODEL", default="gpt-5-mini")
SUMMARY_TIMEOUT_SECONDS = env.float("SUMMARY_TIMEOUT_SECONDS", default=120.0)
SUMMARY_CONNECT_TIMEOUT_SECONDS = env.float("SUMMARY_CONNECT_TIMEOUT_SECONDS", default=5.0)
SUMMARY_MAX_OUTPUT_TOKENS = env.int("SUMMARY_MAX_OUTPUT_TOKENS", default=16000)
# An abandoned interview is summarised only with at least this much of the candidate's own
# speech (a completed one whenever the candidate said anything).
SUMMARY_MIN_CANDIDATE_TURNS = env.int("SUMMARY_MIN_CANDIDATE_TURNS", default=3)
SUMMARY_MIN_CANDIDATE_CHARS = env.int("SUMMARY_MIN_CANDIDATE_CHARS", default=400)
# How long after the end the summary's run starts: the transcription of the candidate's last
# words can land a moment after the interview ends, and a summary that read the transcript
# before it would miss the last answer. 0 starts it at once.
SUMMARY_START_DELAY_SECONDS = env.float("SUMMARY_START_DELAY_SECONDS", default=5.0)
if SUMMARY_START_DELAY_SECONDS < 0:
    raise ImproperlyConfigured("SUMMARY_START_DELAY_SECONDS must not be negative")
# Calls to the AI service per summary before it is marked failed, and the exponential
# backoff (with jitter) between them; a Retry-After from the service is always honoured.
SUMMARY_MAX_ATTEMPTS = env.int("SUMMARY_MAX_ATTEMPTS", default=5)
SUMMARY_RETRY_BACKOFF_SECONDS = env.float("SUMMARY_RETRY_BACKOFF_SECONDS", default=10.0)
SUMMARY_RETRY_BACKOFF_MAX_SECONDS = env.float("SUMMARY_RETRY_BACKOFF_MAX_SECONDS", default=600.0)
# The circuit breaker, shared by every worker through the cache (Redis): after this many
# failures in a row nobody calls the service for the cool-down, then one call probes it.
SUMMARY_BREAKER_FAILURES = env.int("SUMMARY_BREAKER_FAILURES", default=5)
SUMMARY_BREAKER_COOLDOWN_SECONDS = env.float("SUMMARY_BREAKER_COOLDOWN_SECONDS", default=60.0)
for _name in (
    "SUMMARY_TIMEOUT_SECONDS",
    "SUMMARY_CONNECT_TIMEOUT_SECONDS",
    "SUMMARY_MAX_OUTPUT_TOKENS",
    "SUMMARY_MAX_ATTEMPTS",
    "SUMMARY_RETRY_BACKOFF_SECONDS",
    "SUMMARY_RETRY_BACKOFF_MAX_SECONDS",
    "SUMMARY_BREAKER_FAILURES",
    "SUMMARY_BREAKER_COOLDOWN_SECONDS",
):
    if vars()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be greater than 0")
