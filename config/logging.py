import logging

from tenants import requestcontext


class RequestContextFilter(logging.Filter):
    """Adds the current request id to every log record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = requestcontext.request_id.get()
        return True
