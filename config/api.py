"""The API's error contract: ``{"error": {"code": "...", "message": "..."}}``."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


class StateConflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


def exception_handler(exc, context):
    # A rule a service enforces (a state transition, a cross-tenant reference) is the client's
    # problem, never a 500: a state conflict is 409, anything else invalid 400.
    if isinstance(exc, DjangoValidationError):
        message = " ".join(exc.messages)
        if getattr(exc, "code", None) == "illegal_transition":
            exc = StateConflict(message, code="illegal_transition")
        else:
            exc = exceptions.ValidationError(message, code=getattr(exc, "code", None) or "invalid")
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
