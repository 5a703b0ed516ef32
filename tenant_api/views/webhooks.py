"""Webhook endpoints, managed through the API as in the console (docs/webhooks.md): register
one (its signing secret is in that answer only), list, read, change, remove, send a test
event, and read its recent deliveries."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from webhooks import selectors, services

from ..serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)
from .base import TenantAPIView

SCOPE = "webhooks:manage"


class WebhookEndpointList(TenantAPIView):
    required_scopes = {"GET": SCOPE, "POST": SCOPE}

    @extend_schema(
        tags=["webhooks"],
        responses=WebhookEndpointSerializer(many=True),
        summary="List webhook endpoints",
    )
    def get(self, request):
        endpoints = selectors.endpoints_of(self.client.tenant_id)
        return Response(WebhookEndpointSerializer(endpoints, many=True).data)

    @extend_schema(
        tags=["webhooks"],
        request=WebhookEndpointSerializer,
        responses={201: WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample(
                "Results back to the ATS",
                value={
                    "url": "https://ats.example.com/hooks/interviews",
                    "events": ["session.completed", "summary.ready", "decision.recorded"],
                    "include_transcript": False,
                },
                request_only=True,
            )
        ],
        summary="Register an endpoint (https, a public address); the answer holds its secret",
    )
    def post(self, request):
        data = WebhookEndpointSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        endpoint = services.endpoint_create(
            tenant_id=self.client.tenant_id,
            url=values["url"],
            events=values["events"],
            include_transcript=values.get("include_transcript", False),
            description=values.get("description", ""),
            actor=request.user,
        )
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class _EndpointView(TenantAPIView):
    def endpoint(self, endpoint_id):
        endpoint = selectors.endpoint_of(self.client.tenant_id, endpoint_id)
        if endpoint is None:
            raise Http404
        return endpoint


class WebhookEndpointDetail(_EndpointView):
    required_scopes = {"GET": SCOPE, "PATCH": SCOPE, "DELETE": SCOPE}

    @extend_schema(
        tags=["webhooks"], responses=WebhookEndpointSerializer, summary="Read an endpoint"
    )
    def get(self, request, endpoint_id):
        return Response(WebhookEndpointSerializer(self.endpoint(endpoint_id)).data)

    @extend_schema(
        tags=["webhooks"],
        request=WebhookEndpointSerializer(partial=True),
        responses=WebhookEndpointSerializer,
        examples=[
            OpenApiExample(
                "Decisions too",
                value={"events": ["summary.ready", "decision.recorded"]},
                request_only=True,
            )
        ],
        summary="Change an endpoint's URL, description, events or transcript opt-in",
    )
    def patch(self, request, endpoint_id):
        data = WebhookEndpointSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            endpoint=self.endpoint(endpoint_id),
            actor=request.user,
            changes=dict(data.validated_data),
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(tags=["webhooks"], responses={204: None}, summary="Remove an endpoint")
    def delete(self, request, endpoint_id):
        services.endpoint_delete(endpoint=self.endpoint(endpoint_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointTest(_EndpointView):
    required_scopes = {"POST": SCOPE}

    @extend_schema(
        tags=["webhooks"],
        request=None,
        responses={202: WebhookDeliverySerializer},
        summary="Send the endpoint a webhook.test event",
    )
    def post(self, request, endpoint_id):
        delivery = services.endpoint_send_test(
            endpoint=self.endpoint(endpoint_id), actor=request.user
        )
        return Response(WebhookDeliverySerializer(delivery).data, status=202)


class WebhookDeliveryList(_EndpointView):
    required_scopes = {"GET": SCOPE}

    @extend_schema(
        tags=["webhooks"],
        responses=WebhookDeliverySerializer(many=True),
        summary="The endpoint's latest deliveries (at most 100), newest first",
    )
    def get(self, request, endpoint_id):
        endpoint = self.endpoint(endpoint_id)
        deliveries = selectors.deliveries_of(self.client.tenant_id, endpoint_id=endpoint.pk)
        return Response(WebhookDeliverySerializer(deliveries, many=True).data)
