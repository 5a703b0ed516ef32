"""Interview templates, to read: an invitation names one."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from interviews.models import InterviewTemplate

from ..serializers import TemplateSerializer
from .base import Cursor, TenantAPIView


class TemplateList(TenantAPIView):
    pagination_class = Cursor  # also what the schema documents
    required_scopes = {"GET": "templates:read"}

    @extend_schema(
        tags=["templates"], responses=TemplateSerializer(many=True), summary="List templates"
    )
    def get(self, request):
        rows = InterviewTemplate.objects.filter(tenant_id=self.client.tenant_id)
        pages = self.pagination_class()
        page = pages.paginate_queryset(rows, request, view=self)
        return pages.get_paginated_response(TemplateSerializer(page, many=True).data)


class TemplateDetail(TenantAPIView):
    required_scopes = {"GET": "templates:read"}

    @extend_schema(tags=["templates"], responses=TemplateSerializer, summary="Read a template")
    def get(self, request, template_id):
        template = get_object_or_404(
            InterviewTemplate, pk=template_id, tenant_id=self.client.tenant_id
        )
        return Response(TemplateSerializer(template).data)
