import logging
import re

from pythonjsonlogger.json import JsonFormatter

from core import requestcontext

# URLs that carry a secret: the invitation link's token must exist only in the email.
_SECRET_URL = re.compile(r"/i/[A-Za-z0-9_\-]{8,}")
_REDACTED = "/i/<token>"
# Credentials in headers a library might log (the provider's API key, a candidate's token).
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s'\",]+")


def redact(text: str) -> str:
    # Replacement functions, not templates: a template is compiled on first use, which fails
    # for a message logged while the interpreter shuts down.
    text = _SECRET_URL.sub(lambda _: _REDACTED, text)
    return _BEARER.sub(lambda match: match.group(1) + "<redacted>", text)


class RequestContextFilter(logging.Filter):
    """Adds the current request id to every log record (empty outside a request) and takes
    secrets (bearer credentials, tokens in URLs) out of the message, its arguments and the
    extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # Django logs a 4xx/5xx answer (django.request) after the middleware is done with
            # the request and has cleared the context; the request itself still carries it.
            record.request_id = (
                getattr(getattr(record, "request", None), "request_id", "")
                or requestcontext.request_id.get()
            )
        record.msg = redact(str(record.msg)) if isinstance(record.msg, str) else record.msg
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        for name in ("path", "request"):
            value = getattr(record, name, None)
            if value is not None:
                setattr(record, name, redact(value if isinstance(value, str) else repr(value)))
        for name, value in list(vars(record).items()):  # other extra fields (error=...)
            if name not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message"}


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines, with secrets taken out of tracebacks too (an exception's message can quote
    a header or a URL; the filter above only sees the record before formatting)."""

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))
