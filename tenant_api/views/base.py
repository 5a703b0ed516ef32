"""What every tenant API operation shares: the token, the scope, the rate limit, row-level
security set from the token's tenant for the whole request, an audit event per use, and
``Idempotency-Key`` on POSTs."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.services import audit_record

from ..auth import ApiClientThrottle, ApiClientTokenAuthentication, HasScope
from ..models import IdempotencyRecord

MAX_IDEMPOTENCY_KEY = 200
#: A request still being answered after this long never will be (its process died).
STALE_AFTER = timedelta(minutes=2)


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


class BadRequest(exceptions.APIException):
    status_code = 400
    default_code = "invalid"


class _Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


class TenantAPIView(APIView):
    authentication_classes = [ApiClientTokenAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiClientThrottle]
    #: HTTP method -> the scope it needs (scopes.SCOPES).
    required_scopes: dict[str, str] = {}
    _scope: contextlib.ExitStack | None = None
    _idempotency: IdempotencyRecord | None = None

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)  # authentication, scope, rate
        finally:
            # The token's tenant context, entered while authenticating (auth.py); ended with
            # the response (finalize_response), or here if the request goes no further.
            self._scope = getattr(request, "tenant_scope", None)
        if self._scope is None:  # not authenticated by a token: refused above
            raise exceptions.NotAuthenticated()
        if request.method == "POST" and "Idempotency-Key" in request.headers:
            self._idempotency_begin(request)

    @property
    def client(self):
        return self.request.user.client

    @property
    def tenant(self):
        return self.client.tenant

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        scope = getattr(self, "_scope", None)
        if scope is None:
            return response  # refused before the tenant was known
        with scope:
            if self._idempotency is not None:
                self._idempotency_end(response)
            audit_record(
                action="api.request",
                tenant_id=request.auth.tenant_id,
                actor_label=request.user.label,
                details={
                    "operation": f"{request.method} {getattr(request.resolver_match, 'route', '')}",
                    "status": response.status_code,
                },
            )
        self._scope = None
        return response

    # --- Idempotency-Key ------------------------------------------------------------------

    def _idempotency_begin(self, request) -> None:
        key = request.headers["Idempotency-Key"].strip()
        if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise BadRequest(
                f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters.",
                code="invalid_idempotency_key",
            )
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.path.encode(), request.body])
        ).hexdigest()
        try:
            with transaction.atomic():
                self._idempotency = IdempotencyRecord.objects.create(
                    tenant_id=self.client.tenant_id,
                    client=self.client,
                    key=key,
                    fingerprint=fingerprint,
                )
            return
        except IntegrityError:
            pass
        first = IdempotencyRecord.objects.filter(client=self.client, key=key).first()
        if first is None or first.fingerprint != fingerprint:
            raise Conflict(
                "This Idempotency-Key was used with another request.", code="idempotency_mismatch"
            )
        if first.status_code is None and first.created_at > timezone.now() - STALE_AFTER:
            raise Conflict(
                "A request with this Idempotency-Key is still being answered.",
                code="idempotency_in_progress",
            )
        if first.status_code is None:
            # Its request never finished (a process died mid-answer): this one takes it over.
            first.delete()
            return self._idempotency_begin(request)
        replay = Response(first.body, status=first.status_code)
        replay["Idempotent-Replayed"] = "true"
        raise _Replay(replay)

    def _idempotency_end(self, response) -> None:
        record, self._idempotency = self._idempotency, None
        if response.status_code >= 500 or response.status_code == 429:
            record.delete()  # not an answer worth keeping: the client may try again
            return
        record.status_code = response.status_code
        record.body = getattr(response, "data", None)
        record.save(update_fields=["status_code", "body"])


class Cursor(pagination.CursorPagination):
    """Lists page with an opaque cursor (stable under inserts), newest first."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"

    def __init__(self):
        self.page_size = settings.API_PAGE_SIZE
        self.max_page_size = settings.API_MAX_PAGE_SIZE
