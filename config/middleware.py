"""Project-wide request middleware."""

import logging
import re
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from tenants import requestcontext

logger = logging.getLogger("config.request")
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Accepts a well-formed X-Request-ID from the client (or proxy) or makes one, exposes it
    and the client IP to logs and the audit trail, and returns it in the response header."""

    sync_capable = True
    async_capable = True  # so async views (the SDP proxy) never wait on a thread for it

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        self.ip_header = (
            "HTTP_" + settings.CLIENT_IP_HEADER.upper().replace("-", "_")
            if settings.CLIENT_IP_HEADER
            else ""
        )

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        tokens, started = self._begin(request)
        try:
            return self._finish(request, self.get_response(request), started)
        finally:
            self._end(tokens)

    async def __acall__(self, request):
        tokens, started = self._begin(request)
        try:
            return self._finish(request, await self.get_response(request), started)
        finally:
            self._end(tokens)

    def _begin(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        ip = (request.META.get(self.ip_header) if self.ip_header else None) or request.META.get(
            "REMOTE_ADDR"
        )
        request.request_id = request_id
        tokens = (requestcontext.request_id.set(request_id), requestcontext.client_ip.set(ip))
        return tokens, time.monotonic()

    def _finish(self, request, response, started):
        response[REQUEST_ID_HEADER] = request.request_id
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return response

    def _end(self, tokens):
        requestcontext.request_id.reset(tokens[0])
        requestcontext.client_ip.reset(tokens[1])
