"""The API's error contract: ``{"error": {"code": "...", "message": "..."}}``."""

from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
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
