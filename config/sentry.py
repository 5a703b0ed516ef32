"""Error tracking with Sentry when SENTRY_DSN is set, with candidates' and recruiters' personal
data kept out of what is sent (docs/observability.md).

An event keeps what locates a fault - the exception's type, the stack (files, functions,
lines, the code around them), the logger and its message template, the route, the request id
- and loses what could carry a person's data:

- local variables are never captured (any of them, under any name, can hold a transcript);
- request bodies, cookies, query strings, headers (but a few harmless ones), the user's
  address, email and name;
- the text of exceptions raised outside this project's code (a database error quotes the
  row it refused, a JSON error the document); ours keep theirs, which we write;
- log messages are sent as their template, never formatted with their arguments; extra
  fields keep only numbers and single words (ids, codes), never prose;
- and a last pass over every string left takes out email addresses, bearer credentials and
  invitation tokens.

sentry_sdk's EventScrubber runs first, with its denylist and ours (keys that name personal
data or secrets), over the whole event.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

from .logging import redact

#: The packages whose exceptions keep their message (we write those messages).
PROJECT_PACKAGES = (
    "config",
    "core",
    "tenants",
    "webhooks",
    "interviews",
    "invitations",
    "live",
    "privacy",
    "tenant_api",
    "provisioning",
)
#: Keys whose values are removed wherever they appear in an event, besides sentry_sdk's own.
DENYLIST = [
    *DEFAULT_DENYLIST,
    "email",
    "emails",
    "full_name",
    "first_name",
    "last_name",
    "username",
    "transcript",
    "text",
    "answer",
    "question",
    "summary",
    "strengths",
    "concerns",
    "evidence",
    "instructions",
    "sdp",
    "offer",
    "body",
    "payload",
    "content",
    "consent",
    "client_secret",
    "secret_hash",
    "jwt",
    "access_token",
    "refresh_token",
    "login_code",
]
PII_DENYLIST = [*DEFAULT_PII_DENYLIST, "ip", "client_ip", "fly_client_ip", "fly-client-ip"]
#: Request headers kept (none of them names or tracks a person).
KEPT_HEADERS = frozenset({"content-type", "content-length", "accept", "x-request-id", "host"})

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# A single word: an id, a code, a status - not a sentence someone said or wrote.
_WORD = re.compile(r"^[\w.:/+-]{0,128}$")
WITHHELD = "[withheld]"


def scrub_text(text: str) -> str:
    """Email addresses, bearer credentials and invitation tokens out of ``text``."""
    return EMAIL.sub("[email]", redact(text))


def _scrub_everything(value):
    """The last pass: every string in the event, at any depth."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub_everything(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_everything(item) for item in value]
    return value


def _only_words(value):
    """Extra fields: numbers, booleans and single words kept, prose withheld."""
    if isinstance(value, dict):
        return {key: _only_words(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_only_words(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if _WORD.match(text) else WITHHELD


def _url_without_query(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return WITHHELD
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _request(request: dict) -> dict:
    kept = {"method": request.get("method")}
    if request.get("url"):
        kept["url"] = _url_without_query(request["url"])
    headers = request.get("headers") or {}
    kept["headers"] = {
        name: value for name, value in headers.items() if name.lower() in KEPT_HEADERS
    }
    return kept


def _exception(exception: dict) -> dict:
    module = exception.get("module") or ""
    if module.split(".")[0] not in PROJECT_PACKAGES:
        exception["value"] = WITHHELD
    for frame in (exception.get("stacktrace") or {}).get("frames") or []:
        frame.pop("vars", None)
    return exception


def before_send(event: dict, hint: dict) -> dict:
    """Strip an error event of personal data before it leaves the process."""
    if "request" in event:
        event["request"] = _request(event["request"])
    user = event.get("user") or {}
    event["user"] = {"id": user["id"]} if user.get("id") else {}
    for exception in (event.get("exception") or {}).get("values") or []:
        _exception(exception)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    logentry = event.get("logentry")
    if logentry:
        template = str(logentry.get("message") or "")
        event["logentry"] = {"message": template, "formatted": template, "params": []}
    if "message" in event and isinstance(event["message"], str) and logentry:
        event["message"] = event["logentry"]["message"]
    if "extra" in event:
        event["extra"] = _only_words(event["extra"])
    if "breadcrumbs" in event:
        crumbs = event["breadcrumbs"]
        values = crumbs.get("values", []) if isinstance(crumbs, dict) else crumbs
        cleaned = [crumb for crumb in (_breadcrumb(dict(c)) for c in values) if crumb]
        if isinstance(crumbs, dict):
            crumbs["values"] = cleaned
        else:
            event["breadcrumbs"] = cleaned
    return _scrub_everything(event)


def before_send_transaction(event: dict, hint: dict) -> dict:
    """A performance trace (SENTRY_TRACES_SAMPLE_RATE): scrubbed as an error event is - the
    request, the user, the last pass - and each span's data reduced to single words, its
    description (an outgoing request's URL, a query) without a query string."""
    for span in event.get("spans") or []:
        description = span.get("description")
        if isinstance(description, str):
            span["description"] = description.split("?", 1)[0]
        if span.get("data"):
            span["data"] = _only_words(span["data"])
    trace = (event.get("contexts") or {}).get("trace") or {}
    if trace.get("data"):
        trace["data"] = _only_words(trace["data"])
    return before_send(event, hint)


def _breadcrumb(crumb: dict) -> dict:
    if crumb.get("data"):
        data = dict(crumb["data"])
        if isinstance(data.get("url"), str):
            data["url"] = _url_without_query(data["url"])
        for name in ("http.query", "http.fragment"):
            data.pop(name, None)
        crumb["data"] = _only_words(data)
    return _scrub_everything(crumb)


def before_breadcrumb(crumb: dict, hint: dict) -> dict:
    """A log line's breadcrumb keeps its template (``record.msg``), not the formatted line
    with its arguments; every breadcrumb goes through the same scrubbing as events."""
    record = (hint or {}).get("log_record")
    if record is not None:
        crumb["message"] = str(record.msg)
    return _breadcrumb(crumb)


def sentry_init(
    *, dsn: str, environment: str, release: str | None = None, traces_sample_rate: float = 0.0
) -> None:
    """Start error tracking (config.settings calls this when SENTRY_DSN is set).

    ``send_default_pii`` is left at its default, off: sentry-sdk 2.x deprecates setting it
    and its replacement (``data_collection``) would switch the EventScrubber off."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        include_local_variables=False,
        max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=DENYLIST, pii_denylist=PII_DENYLIST, recursive=True),
        before_send=before_send,
        before_send_transaction=before_send_transaction,
        before_breadcrumb=before_breadcrumb,
        traces_sample_rate=traces_sample_rate,
    )
