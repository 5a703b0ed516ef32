"""Candidates: create, upsert by ``external_id``, read, list, update, erase."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from interviews import services
from interviews.models import Candidate
from privacy.services import InterviewInProgress, candidate_erase

from ..serializers import CandidateSerializer, CandidateWriteSerializer
from .base import Conflict, Cursor, TenantAPIView

EXAMPLE = OpenApiExample(
    "A candidate",
    value={"email": "ada@example.com", "full_name": "Ada Lovelace", "external_id": "ats-1842"},
    request_only=True,
)
FILTERS = [
    OpenApiParameter("status", str, description="Only candidates with this status."),
    OpenApiParameter("email", str, description="The candidate with this address."),
    OpenApiParameter("external_id", str, description="The candidate with this ATS id."),
    OpenApiParameter("cursor", str, description="The page after (or before) this one."),
    OpenApiParameter("page_size", int, description="At most API_MAX_PAGE_SIZE."),
]


class CandidateList(TenantAPIView):
    pagination_class = Cursor  # also what the schema documents
    required_scopes = {"GET": "candidates:read", "POST": "candidates:write"}

    @extend_schema(
        tags=["candidates"],
        parameters=FILTERS,
        responses=CandidateSerializer(many=True),
        summary="List candidates, newest first (cursor pages)",
    )
    def get(self, request):
        rows = Candidate.objects.filter(tenant_id=self.client.tenant_id)
        for field in ("status", "external_id"):
            if request.query_params.get(field):
                rows = rows.filter(**{field: request.query_params[field]})
        if request.query_params.get("email"):
            rows = rows.filter(email=services.normalize_email(request.query_params["email"]))
        pages = self.pagination_class()
        page = pages.paginate_queryset(rows, request, view=self)
        return pages.get_paginated_response(CandidateSerializer(page, many=True).data)

    @extend_schema(
        tags=["candidates"],
        request=CandidateWriteSerializer,
        responses={201: CandidateSerializer},
        examples=[EXAMPLE],
        summary="Add a candidate (400 if the email or external id is already used)",
    )
    def post(self, request):
        data = CandidateWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        candidate = services.candidate_create(
            tenant=self.tenant,
            email=values["email"],
            full_name=values.get("full_name", ""),
            external_id=values.get("external_id", ""),
            actor=request.user,
        )
        return Response(CandidateSerializer(candidate).data, status=status.HTTP_201_CREATED)


class CandidateByExternalId(TenantAPIView):
    required_scopes = {"PUT": "candidates:write"}

    @extend_schema(
        tags=["candidates"],
        request=CandidateWriteSerializer,
        responses={200: CandidateSerializer, 201: CandidateSerializer},
        examples=[EXAMPLE],
        summary="Create or update the candidate with this ATS id (201 created, 200 updated)",
    )
    def put(self, request, external_id):
        if not isinstance(request.data, dict):
            raise ParseError("The body must be a JSON object.")
        data = CandidateWriteSerializer(data={**request.data, "external_id": external_id})
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        candidate, created = services.candidate_upsert(
            tenant=self.tenant,
            external_id=values.pop("external_id"),
            values=values,
            actor=request.user,
        )
        return Response(CandidateSerializer(candidate).data, status=201 if created else 200)


class CandidateDetail(TenantAPIView):
    required_scopes = {
        "GET": "candidates:read",
        "PATCH": "candidates:write",
        "DELETE": "candidates:write",
    }

    def candidate(self, candidate_id) -> Candidate:
        return get_object_or_404(Candidate, pk=candidate_id, tenant_id=self.client.tenant_id)

    @extend_schema(tags=["candidates"], responses=CandidateSerializer, summary="Read a candidate")
    def get(self, request, candidate_id):
        return Response(CandidateSerializer(self.candidate(candidate_id)).data)

    @extend_schema(
        tags=["candidates"],
        request=CandidateWriteSerializer(partial=True),
        responses=CandidateSerializer,
        examples=[OpenApiExample("Advance", value={"status": "advanced"}, request_only=True)],
        summary="Change a candidate's email, name, external id or status",
    )
    def patch(self, request, candidate_id):
        data = CandidateWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        candidate = services.candidate_update(
            candidate=self.candidate(candidate_id),
            actor=request.user,
            changes=dict(data.validated_data),
        )
        return Response(CandidateSerializer(candidate).data)

    @extend_schema(
        tags=["candidates"],
        responses={204: None},
        summary="Erase a candidate and all their data (409 while their interview runs)",
    )
    def delete(self, request, candidate_id):
        try:
            candidate_erase(candidate=self.candidate(candidate_id), actor=request.user)
        except InterviewInProgress as error:
            raise Conflict(" ".join(error.messages), code="interview_in_progress") from error
        return Response(status=status.HTTP_204_NO_CONTENT)
