"""The API's edge: what a request body may be, and the error contract
``{"error": {"code": "...", "message": "..."}}``."""

import json
import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404
from rest_framework import exceptions, parsers, status
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

# The largest body the API reads: a transcript batch (50 entries of up to 10,000 characters)
# with room to spare. Deeper nesting than any request needs is refused before it is walked.
MAX_JSON_BODY_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 16


class StateConflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


class RequestBodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = f"The request body is larger than {MAX_JSON_BODY_BYTES // 1024} KB."


class JSONBodyParser(parsers.JSONParser):
    """JSON bodies, refused (400/413, before any view runs) when they are too large, nested too
    deep, or carry a string PostgreSQL cannot store: a NUL (``\\u0000``) or a lone surrogate
    (``\\ud800``, valid JSON but not encodable as UTF-8)."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > MAX_JSON_BODY_BYTES:
            raise RequestBodyTooLarge()
        body = stream.read(MAX_JSON_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_JSON_BODY_BYTES:
            raise RequestBodyTooLarge()
        try:
            data = json.loads(body, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}", code="invalid_json") from exc
        except RecursionError as exc:  # nesting deeper than the interpreter's stack
            raise _too_deep() from exc
        _check_json(data)
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def _too_deep() -> exceptions.ParseError:
    return exceptions.ParseError(
        f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.", code="too_deep"
    )


def _check_json(data) -> None:
    # Iterative, so that no body can exhaust the stack here either.
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            for key, item in value.items():
                _check_text(key)
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise exceptions.ParseError(
            "Text in the request may not contain NUL characters.", code="invalid_characters"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise exceptions.ParseError(
                "Text in the request must be valid Unicode (no lone surrogates).",
                code="invalid_characters",
            ) from exc


# SQLSTATE classes and codes that mean the connection, not the statement, failed: class 08
# (connection exceptions) and the server shutting down or starting (57P01-57P03).
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def database_unreachable(exc: OperationalError) -> bool:
    """Whether the error says the database could not be reached (rather than refused one
    statement): a lost or refused connection has no SQLSTATE, or one of the above."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_UNREACHABLE_SQLSTATES)


def exception_handler(exc, context):
    # A rule a service enforces (a state transition, a cross-tenant reference) is the client's
    # problem, never a 500: a state conflict is 409, anything else invalid 400.
    if isinstance(exc, DjangoValidationError):
        message = " ".join(exc.messages)
        if getattr(exc, "code", None) == "illegal_transition":
            exc = StateConflict(message, code="illegal_transition")
        else:
            exc = exceptions.ValidationError(message, code=getattr(exc, "code", None) or "invalid")
    if isinstance(exc, Http404):  # get_object_or_404: the API's not_found, not a bare "error"
        exc = exceptions.NotFound()
    # The database out of reach (a restart, a failover: seconds) is a 503 with Retry-After,
    # which clients (the interview page) wait out, not a 500. Other operational errors (a
    # deadlock, a statement timeout) stay 500s, which operators see.
    if isinstance(exc, OperationalError) and database_unreachable(exc):
        from live.api.errors import DatabaseUnavailable  # here: DRF's settings import this module

        logger.warning("database unreachable: answered 503", extra={"error": type(exc).__name__})
        exc = DatabaseUnavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # Unhandled: Django's 500 handler, which never shows a trace in production.
    detail = getattr(exc, "detail", None)
    code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict | list):
        message = "Invalid input."
        body = {"error": {"code": code, "message": message, "fields": detail}}
    else:
        code = getattr(detail, "code", code)
        body = {"error": {"code": code, "message": str(detail or exc)}}
    response.data = body
    return response
