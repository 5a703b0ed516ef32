"""Console pages for webhook endpoints and their delivery log. Owners and admins register,
change, disable and test endpoints and send deliveries again; every member may read."""

import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from tenants.admin import TenantScopedAdmin

from . import services
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent


class ManagedByOwnersAndAdmins(TenantScopedAdmin):
    """Changes are for owners and admins (and operators); every member reads."""

    def _can_manage(self, request) -> bool:
        membership = self._membership(request)
        return request.user.is_superuser or bool(membership and membership.can_manage)

    def has_add_permission(self, request):
        return self._can_manage(request)

    def has_change_permission(self, request, obj=None):
        return self._can_manage(request)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("tenant", "url", "description", "events", "include_transcript")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ManagedByOwnersAndAdmins):
    form = EndpointForm
    list_display = ("url", "description", "event_list", "is_enabled", "consecutive_dead")
    list_filter = ("is_enabled",)
    search_fields = ("url", "description")
    readonly_fields = (
        "is_enabled",
        "disabled_at",
        "disabled_reason",
        "consecutive_dead",
        "failing_since",
        "delivery_log",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("tenant", "url", "description", "events", "include_transcript")}),
        (
            "State",
            {
                "fields": (
                    "is_enabled",
                    "disabled_at",
                    "disabled_reason",
                    "consecutive_dead",
                    "failing_since",
                    "delivery_log",
                    "created_at",
                )
            },
        ),
    )
    actions = ["send_test_event", "disable_endpoints", "enable_endpoints"]

    @admin.display(description="Events")
    def event_list(self, obj):
        return ", ".join(obj.events)

    @admin.display(description="Deliveries")
    def delivery_log(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">Delivery log</a>', url, obj.pk)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            changes = {
                f: data[f] for f in form.changed_data if f in services.ENDPOINT_EDITABLE_FIELDS
            }
            services.endpoint_update(endpoint=obj, actor=request.user, changes=changes)
            return
        created = services.endpoint_create(
            tenant_id=self.tenant_for(request, obj).pk,
            url=data["url"],
            events=data["events"],
            include_transcript=data.get("include_transcript", False),
            description=data.get("description", ""),
            actor=request.user,
        )
        obj.pk = created.pk
        obj.secret = created.secret
        obj.events = created.events
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        # The secret is shown on this page only: never stored anywhere else for display (not
        # in a message, which would sit in the session), never shown again.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Webhook endpoint created",
            "endpoint": obj,
            "secret": obj.secret,
        }
        return TemplateResponse(request, "admin/webhooks/endpoint_secret.html", context)

    def delete_model(self, request, obj):
        services.endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_delete(endpoint=endpoint, actor=request.user)

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            services.endpoint_send_test(endpoint=endpoint, actor=request.user)
        self.message_user(request, "Test events queued; see the delivery log.", messages.SUCCESS)

    @admin.action(description="Disable selected endpoints", permissions=["change"])
    def disable_endpoints(self, request, queryset):
        count = sum(
            services.endpoint_disable(
                endpoint=endpoint, reason="Disabled in the console.", actor=request.user
            )
            for endpoint in queryset
        )
        self.message_user(request, f"{count} endpoint(s) disabled.", messages.SUCCESS)

    @admin.action(description="Enable selected endpoints", permissions=["change"])
    def enable_endpoints(self, request, queryset):
        count = sum(
            services.endpoint_enable(endpoint=endpoint, actor=request.user) for endpoint in queryset
        )
        self.message_user(request, f"{count} endpoint(s) enabled.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ManagedByOwnersAndAdmins):
    list_display = (
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_response_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event_type")
    list_select_related = ("endpoint",)
    search_fields = ("message_id",)
    date_hierarchy = "created_at"
    fields = (
        "tenant",
        "endpoint",
        "event_type",
        "message_id",
        "status",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "last_response_code",
        "last_error",
        "created_at",
        "payload_json",
    )
    readonly_fields = fields
    actions = ["send_again"]

    @admin.display(description="Payload")
    def payload_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    # The log is written by the platform only: read, and sent again.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_send_permission(self, request):
        return self._can_manage(request)

    @admin.action(description="Send again", permissions=["send"])
    def send_again(self, request, queryset):
        for delivery in queryset:
            services.delivery_send_again(delivery=delivery, actor=request.user)
        self.message_user(
            request, f"{len(queryset)} deliveries queued to send again.", messages.SUCCESS
        )
