"""The operator API: the token endpoint and the tenant operations. Thin: each operation is
one tenants service; what they share (network check, token, rate, platform bypass, audit per
request in the platform's trail and the tenant's) is ``OperatorAPIView``."""

from __future__ import annotations

import contextlib

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.oauth import (
    ClientCredentialsThrottle,
    client_credentials_grant,
    token_endpoint_schema,
)
from core.pagination import Cursor
from tenants.models import Tenant
from tenants.services import (
    audit_record,
    system_bypass,
    tenant_create,
    tenant_deletion_request,
    tenant_resume,
    tenant_suspend,
    tenant_update_settings,
)

from .auth import OperatorThrottle, OperatorTokenAuthentication, network_check
from .serializers import (
    SuspendSerializer,
    TenantCreateSerializer,
    TenantOutputSerializer,
    TenantUpdateSerializer,
)
from .services import operator_client_authenticate, operator_token_exchange

TAG = ["operator API"]
_ERROR = inline_serializer(
    "OperatorError",
    {
        "error": inline_serializer(
            "OperatorErrorBody",
            {"code": serializers.CharField(), "message": serializers.CharField()},
        )
    },
)


def _errors(*statuses: int) -> dict:
    described = {
        400: "Invalid input",
        401: "No token, or an invalid, expired or non-operator one (invalid_token)",
        403: "Called from outside OPERATOR_API_ALLOWED_NETWORKS (network_not_allowed)",
        404: "No such tenant",
        409: "The tenant was deleted (tenant_deleted)",
        429: "Too many requests (Retry-After)",
    }
    return {
        code: OpenApiResponse(_ERROR, description=described[code])
        for code in (401, 403, 429, *statuses)
    }


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "tenant_deleted"
    default_detail = "This tenant was deleted."


class OperatorAPIView(APIView):
    authentication_classes = [OperatorTokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [OperatorThrottle]

    def perform_authentication(self, request):
        network_check()  # before the token is even read
        super().perform_authentication(request)

    _scope: contextlib.ExitStack | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._scope = contextlib.ExitStack()
        self._scope.enter_context(system_bypass(reason=f"operator api: {request.user.label}"))

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # An error DRF did not turn into an answer skips finalize_response: the bypass
            # must not outlive the request on this connection.
            if self._scope is not None:
                self._scope, scope = None, self._scope
                scope.close()

    def tenant_or_404(self, tenant_id) -> Tenant:
        return get_object_or_404(Tenant, pk=tenant_id)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        scope = getattr(self, "_scope", None)
        if scope is None:
            return response  # refused before the caller was known
        self._scope = None
        with scope:
            details = {
                "operation": f"{request.method} {getattr(request.resolver_match, 'route', '')}",
                "status": response.status_code,
            }
            tenant_id = kwargs.get("tenant_id") or (
                (getattr(response, "data", None) or {}).get("id")
                if request.method == "POST" and response.status_code == 201
                else None
            )
            trails = [None]
            if tenant_id and Tenant.objects.filter(pk=tenant_id).exists():
                details["tenant"] = str(tenant_id)
                trails.append(tenant_id)
            for trail in trails:
                audit_record(
                    action="operator_api.request",
                    tenant_id=trail,
                    actor_label=request.user.label,
                    details=details,
                )
        return response


def _out(tenant: Tenant) -> dict:
    return TenantOutputSerializer(tenant).data


_TENANT_EXAMPLE = {
    "id": "5d3c8a0e-2b7f-4c1e-9a55-0f3b1d2c4e6a",
    "slug": "acme",
    "name": "Acme Corp",
    "status": "active",
    "retention_days": 180,
    "invitation_expiry_days": 7,
    "allowed_admin_networks": [],
    "require_two_factor": False,
    "branding": {},
    "video_enabled": True,
    "default_model": "gpt-realtime",
    "default_voice": "marin",
    "default_language": "en",
    "deletion_requested_at": None,
    "deletion_due_at": None,
    "deleted_at": None,
    "created_at": "2026-12-03T10:00:00Z",
    "updated_at": "2026-12-03T10:00:00Z",
}


class OperatorTokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ClientCredentialsThrottle]
    parser_classes = [parsers.FormParser, *api_settings.DEFAULT_PARSER_CLASSES]

    def initial(self, request, *args, **kwargs):
        network_check()
        super().initial(request, *args, **kwargs)

    @token_endpoint_schema(
        name="Operator",
        tags=TAG,
        summary="Exchange an operator client's id and secret for an operator access token",
        ids=("op_...", "osk_..."),
        scope="operator",
        responses={403: OpenApiResponse(_ERROR, description="network_not_allowed")},
    )
    def post(self, request):
        return client_credentials_grant(
            request,
            authenticate=lambda client_id, secret: operator_client_authenticate(
                client_id=client_id, secret=secret
            ),
            exchange=lambda client: (*operator_token_exchange(client=client), "operator"),
            realm="operator",
        )


class TenantList(OperatorAPIView):
    @extend_schema(
        tags=TAG,
        responses={200: TenantOutputSerializer(many=True), **_errors()},
        summary="List tenants, newest first (cursor pages)",
    )
    def get(self, request):
        paginator = Cursor()
        page = paginator.paginate_queryset(Tenant.objects.all(), request, view=self)
        return paginator.get_paginated_response([_out(tenant) for tenant in page])

    @extend_schema(
        tags=TAG,
        request=TenantCreateSerializer,
        responses={201: TenantOutputSerializer, **_errors(400)},
        examples=[
            OpenApiExample(
                "A tenant and its owner",
                value={
                    "name": "Acme Corp",
                    "slug": "acme",
                    "owner_email": "owner@acme.example",
                    "settings": {"retention_days": 90, "default_language": "en"},
                },
                request_only=True,
            ),
            OpenApiExample("Created", value=_TENANT_EXAMPLE, response_only=True),
        ],
        summary="Create a tenant; its owner is emailed a link to set up their console account",
    )
    def post(self, request):
        data = TenantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        tenant = tenant_create(
            name=values["name"],
            slug=values["slug"],
            owner_email=values["owner_email"],
            actor=request.user,
            settings_=dict(values.get("settings") or {}),
        )
        return Response(_out(tenant), status=status.HTTP_201_CREATED)


class TenantDetail(OperatorAPIView):
    @extend_schema(
        tags=TAG,
        responses={200: TenantOutputSerializer, **_errors(404)},
        examples=[OpenApiExample("A tenant", value=_TENANT_EXAMPLE, response_only=True)],
        summary="Read a tenant",
    )
    def get(self, request, tenant_id):
        return Response(_out(self.tenant_or_404(tenant_id)))

    @extend_schema(
        tags=TAG,
        request=TenantUpdateSerializer,
        responses={200: TenantOutputSerializer, **_errors(400, 404, 409)},
        examples=[
            OpenApiExample(
                "Limits",
                value={"retention_days": 365, "invitation_expiry_days": 14},
                request_only=True,
            )
        ],
        summary="Change a tenant's limits and settings (validated as the console does)",
    )
    def patch(self, request, tenant_id):
        tenant = self.tenant_or_404(tenant_id)
        if tenant.deleted_at is not None:
            raise Conflict()
        data = TenantUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_update_settings(
            tenant=tenant, actor=request.user, changes=dict(data.validated_data), operator=True
        )
        return Response(_out(tenant))

    @extend_schema(
        tags=TAG,
        request=None,
        responses={202: TenantOutputSerializer, **_errors(404, 409)},
        summary="Delete a tenant: suspended now, its data erased after the grace period "
        "(TENANT_DELETION_GRACE_DAYS); resuming it before then cancels the deletion",
    )
    def delete(self, request, tenant_id):
        tenant = self.tenant_or_404(tenant_id)
        if tenant.deleted_at is not None:
            raise Conflict()
        tenant = tenant_deletion_request(tenant=tenant, actor=request.user)
        return Response(_out(tenant), status=status.HTTP_202_ACCEPTED)


class TenantSuspend(OperatorAPIView):
    @extend_schema(
        tags=TAG,
        request=SuspendSerializer,
        responses={200: TenantOutputSerializer, **_errors(400, 404, 409)},
        examples=[OpenApiExample("Why", value={"reason": "unpaid invoice"}, request_only=True)],
        summary="Suspend a tenant: its console users, candidates' new interviews and API "
        "clients are refused; interviews on a call finish",
    )
    def post(self, request, tenant_id):
        tenant = self.tenant_or_404(tenant_id)
        if tenant.deleted_at is not None:
            raise Conflict()
        data = SuspendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = tenant_suspend(
            tenant=tenant, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_out(tenant))


class TenantResume(OperatorAPIView):
    @extend_schema(
        tags=TAG,
        request=None,
        responses={200: TenantOutputSerializer, **_errors(404, 409)},
        summary="Resume a suspended tenant (cancels a deletion within its grace period)",
    )
    def post(self, request, tenant_id):
        tenant = self.tenant_or_404(tenant_id)
        if tenant.deleted_at is not None:
            raise Conflict()
        return Response(_out(tenant_resume(tenant=tenant, actor=request.user)))
