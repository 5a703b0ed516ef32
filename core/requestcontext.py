"""Per-request values (request id, client IP) that logs, audit events and tasks pick up.

Context variables follow a request through sync and async code alike; config's request-id
middleware sets them, everything else only reads them.
"""

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)
