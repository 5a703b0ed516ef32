"""What every tenant API operation shares: the token, the scope, the rate limit, row-level
security set from the token's tenant for the whole request, an audit event per use, and
``Idempotency-Key`` on POSTs."""

from __future__ import annotations

import contextlib
import hashlib

from django.db import IntegrityError, transaction
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import Cursor  # noqa: F401 (the views page with it)
from tenants.services import audit_record

from ..auth import ApiClientThrottle, ApiClientTokenAuthentication, HasScope
from ..models import IdempotencyRecord

MAX_IDEMPOTENCY_KEY = 200


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"


class BadRequest(exceptions.APIException):
    status_code = 400
    default_code = "invalid"


class _Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


#: Answers that are shown once hold these; a replay gives them as null.
SECRET_FIELDS = frozenset({"secret"})


def _without_secrets(body):
    if isinstance(body, dict) and SECRET_FIELDS & body.keys():
        return {key: None if key in SECRET_FIELDS else value for key, value in body.items()}
    return body


class TenantAPIView(APIView):
    authentication_classes = [ApiClientTokenAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiClientThrottle]
    #: HTTP method -> the scope it needs (scopes.SCOPES).
    required_scopes: dict[str, str] = {}
    _scope: contextlib.ExitStack | None = None
    _idempotency: IdempotencyRecord | None = None

    def dispatch(self, request, *args, **kwargs):
        # A POST with an Idempotency-Key runs in one transaction with its record: the answer
        # is kept exactly when what it did is kept, and a second request with the same key
        # waits for the first and then replays its answer.
        keyed = request.method == "POST" and "Idempotency-Key" in request.headers
        try:
            with transaction.atomic() if keyed else contextlib.nullcontext():
                return super().dispatch(request, *args, **kwargs)
        finally:
            # An error DRF did not turn into an answer skips finalize_response: the tenant
            # context must not outlive the request on this connection.
            if self._scope is not None:
                self._scope, scope = None, self._scope
                scope.close()

    def initial(self, request, *args, **kwargs):
        try:
            super().initial(request, *args, **kwargs)  # authentication, scope, rate
        finally:
            # The token's tenant context, entered while authenticating (auth.py); ended with
            # the response (finalize_response), or in dispatch if there is none.
            self._scope = getattr(request, "tenant_scope", None)
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
        if isinstance(exc, IntegrityError):
            # Two requests raced to write the same unique row (the service's own transaction
            # was rolled back): the client may simply try again.
            exc = Conflict(
                "Another request changed the same data at the same time. Please try again.",
                code="concurrent_change",
            )
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
        if first.status_code is None:
            raise Conflict(
                "A request with this Idempotency-Key is still being answered.",
                code="idempotency_in_progress",
            )
        replay = Response(first.body, status=first.status_code)
        replay["Idempotent-Replayed"] = "true"
        raise _Replay(replay)

    def _idempotency_end(self, response) -> None:
        record, self._idempotency = self._idempotency, None
        if response.status_code >= 500 or response.status_code == 429:
            record.delete()  # not an answer worth keeping: the client may try again
            return
        record.status_code = response.status_code
        record.body = _without_secrets(getattr(response, "data", None))
        record.save(update_fields=["status_code", "body"])
