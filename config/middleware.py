"""Project-wide request middleware."""

import logging
import re
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import JsonResponse

from core import metrics, requestcontext

logger = logging.getLogger("config.request")
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestIdMiddleware:
    """Accepts a well-formed X-Request-ID from the client (or proxy) or makes one, exposes it
    and the client IP to logs and the audit trail, and returns it in the response header.
    First in both middleware chains (the console's and the candidate API's), it also counts
    and times every request for the operators' metrics."""

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
        elapsed = time.monotonic() - started
        logger.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        labels = {
            "method": request.method if request.method in _KNOWN_METHODS else "other",
            "route": _route(request),
            "status_class": metrics.status_class(response.status_code),
        }
        metrics.HTTP_REQUESTS.labels(**labels).inc()
        metrics.HTTP_REQUEST_SECONDS.labels(**labels).observe(elapsed)
        return response

    def _end(self, tokens):
        requestcontext.request_id.reset(tokens[0])
        requestcontext.client_ip.reset(tokens[1])


def _route(request) -> str:
    """The URL pattern that answered (``api/candidate/sessions/<uuid:session_id>/sdp/``), never
    the path itself: ids and invitation tokens would make a series per request, and a token in
    a label is a secret in the metrics. ``unmatched`` when no pattern did (404s)."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None) if match is not None else None
    return f"/{route}" if route else "unmatched"


class NullCharacterGuardMiddleware:
    """Answers 400 to a request whose path, query string, form fields, cookies or headers
    carry a NUL character. PostgreSQL stores no NUL in text, so such a value reaching a filter
    or a write (a console changelist's ``?status=%00``, a candidate page's form) would
    otherwise fail in the database as a 500. Nothing legitimate sends one. The candidate API's
    stack goes without it: its URLs carry only ids, it stores no form, cookie or header, and
    its JSON bodies are checked by the API's parser (config.api.JSONBodyParser)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        refusal = self._refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    async def __acall__(self, request):
        refusal = self._refusal(request)
        return refusal if refusal is not None else await self.get_response(request)

    def _refusal(self, request):
        if not _carries_null(request):
            return None
        message = "The request contains a NUL character."
        if request.path.startswith("/api/"):
            body = {"error": {"code": "invalid_characters", "message": message}}
            return JsonResponse(body, status=400)
        raise BadRequest(message)  # Django's 400 page, logged as a warning


def _carries_null(request) -> bool:
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.COOKIES.items()):
        return True
    # Headers too: the consent record keeps the User-Agent.
    if any(k.startswith("HTTP_") and "\x00" in str(v) for k, v in request.META.items()):
        return True
    # API bodies are the API parser's to read: parsing them here as a form would leave DRF an
    # exhausted stream. request.POST parses only form bodies (urlencoded, multipart).
    sources = (request.GET,) if request.path.startswith("/api/") else (request.GET, request.POST)
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for data in sources
        for key, values in data.lists()
    )
