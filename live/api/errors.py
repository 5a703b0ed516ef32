"""The session API's error answers (DRF sends each as its status, code and message)."""

from __future__ import annotations

import math

from rest_framework import exceptions, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "session_not_connectable"
    default_detail = "This interview session has ended."


class BadGateway(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "upstream_error"
    default_detail = "The interviewer service is unavailable. Please try again."


class GatewayTimeout(exceptions.APIException):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_code = "upstream_timeout"
    default_detail = "The interviewer service did not answer in time. Please try again."


class InterviewerNotConfigured(exceptions.APIException):
    """The provider refused the platform's own setup (a bad key, no access, no quota): trying
    again cannot help, so the page stops and says the company has been told."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "interviewer_not_configured"
    default_detail = "The interview can't start right now; we've told the company."


class InterviewerBusy(exceptions.APIException):
    """The provider is rate limiting the platform: try again after Retry-After seconds."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "upstream_rate_limited"
    default_detail = "The interviewer service is busy. Please try again in a moment."

    def __init__(self, wait: float | None):
        super().__init__()
        # DRF sends it as Retry-After (whole seconds, never less than the provider asked).
        self.wait = math.ceil(wait) if wait else None


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = "The service is busy. Please try again in a moment."
    wait = 2  # seconds: DRF sends it as Retry-After


class UnderMaintenance(exceptions.APIException):
    """The platform is in maintenance mode (core.maintenance): no new interview starts; the
    message is the operator's, and Retry-After says when to look again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "maintenance"

    def __init__(self, maintenance):
        super().__init__(detail=maintenance.text)
        self.wait = maintenance.retry_after_seconds  # DRF sends it as Retry-After
