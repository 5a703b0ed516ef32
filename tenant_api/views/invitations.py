"""Invitations: send one (the email goes out once the request commits), list, read its
status, send it again with a new link, revoke it."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from interviews.models import Candidate, InterviewTemplate
from invitations import services
from invitations.models import InterviewInvitation

from ..serializers import InvitationCreateSerializer, InvitationSerializer
from .base import Conflict, Cursor, TenantAPIView


class InvitationList(TenantAPIView):
    pagination_class = Cursor  # also what the schema documents
    required_scopes = {"GET": "invitations:read", "POST": "invitations:write"}

    @extend_schema(
        tags=["invitations"],
        parameters=[
            OpenApiParameter("candidate", str, description="Only this candidate's (id)."),
            OpenApiParameter("cursor", str, description="The page after (or before) this one."),
            OpenApiParameter("page_size", int, description="At most API_MAX_PAGE_SIZE."),
        ],
        responses=InvitationSerializer(many=True),
        summary="List invitations, newest first (cursor pages)",
    )
    def get(self, request):
        rows = InterviewInvitation.objects.filter(tenant_id=self.client.tenant_id)
        if request.query_params.get("candidate"):
            candidate = serializers.UUIDField().run_validation(request.query_params["candidate"])
            rows = rows.filter(candidate_id=candidate)
        pages = self.pagination_class()
        page = pages.paginate_queryset(rows, request, view=self)
        return pages.get_paginated_response(InvitationSerializer(page, many=True).data)

    @extend_schema(
        tags=["invitations"],
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer},
        examples=[
            OpenApiExample(
                "Invite",
                value={
                    "candidate": "6f1c1d2e-0000-4000-8000-000000000001",
                    "template": "0b9e77a4-0000-4000-8000-000000000002",
                },
                request_only=True,
            )
        ],
        summary="Invite a candidate to an interview (the email goes out at once)",
    )
    def post(self, request):
        data = InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant_id = self.client.tenant_id
        candidate = get_object_or_404(
            Candidate.objects.select_related("tenant"),
            pk=data.validated_data["candidate"],
            tenant_id=tenant_id,
        )
        template = get_object_or_404(
            InterviewTemplate, pk=data.validated_data["template"], tenant_id=tenant_id
        )
        invitation = services.invitation_issue(
            candidate=candidate, template=template, actor=request.user
        )
        invitation.refresh_from_db()
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetail(TenantAPIView):
    required_scopes = {"GET": "invitations:read"}

    @extend_schema(
        tags=["invitations"], responses=InvitationSerializer, summary="Read an invitation"
    )
    def get(self, request, invitation_id):
        return Response(InvitationSerializer(invitation_of(self, invitation_id)).data)


def invitation_of(view, invitation_id) -> InterviewInvitation:
    return get_object_or_404(InterviewInvitation, pk=invitation_id, tenant_id=view.client.tenant_id)


class InvitationResend(TenantAPIView):
    required_scopes = {"POST": "invitations:write"}

    @extend_schema(
        tags=["invitations"],
        request=None,
        responses=InvitationSerializer,
        summary="Send the invitation again with a new link (409 once accepted or closed)",
    )
    def post(self, request, invitation_id):
        invitation = invitation_of(self, invitation_id)
        try:
            services.invitation_resend(invitation=invitation, actor=request.user)
        except services.InvitationUnusable as error:
            raise Conflict(
                f"This invitation can no longer be sent ({error.status}).",
                code="invitation_closed",
            ) from error
        invitation.refresh_from_db()
        return Response(InvitationSerializer(invitation).data)


class InvitationRevoke(TenantAPIView):
    required_scopes = {"POST": "invitations:write"}

    @extend_schema(
        tags=["invitations"],
        request=None,
        responses=InvitationSerializer,
        summary="Revoke an open invitation (409 once accepted)",
    )
    def post(self, request, invitation_id):
        invitation = invitation_of(self, invitation_id)
        revoked = services.invitation_revoke(invitation=invitation, actor=request.user)
        if not revoked and invitation.accepted_at:
            raise Conflict("This invitation was already accepted.", code="invitation_accepted")
        invitation.refresh_from_db()
        return Response(InvitationSerializer(invitation).data)
