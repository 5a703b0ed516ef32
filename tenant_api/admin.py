"""Console pages for API clients: owners and admins create them (the secret is shown once, on
the page that follows, never stored), change their name, scopes and networks, and revoke
them. Everyone else in the company may see that they exist."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse

from tenants.admin import TenantScopedAdmin
from tenants.models import Role

from . import services
from .models import ApiClient
from .scopes import SCOPE_CHOICES

MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple, required=True
    )
    allowed_networks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="CIDR ranges, one per line (for example 203.0.113.0/24). Empty: the "
        "company's console networks apply.",
    )

    class Meta:
        model = ApiClient
        fields = ["name", "scopes", "allowed_networks"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allowed_networks"] = "\n".join(self.instance.allowed_networks or [])

    def clean_allowed_networks(self):
        value = self.cleaned_data.get("allowed_networks") or ""
        return [line.strip() for line in value.splitlines() if line.strip()]


@admin.register(ApiClient)
class ApiClientAdmin(TenantScopedAdmin):
    form = ApiClientForm
    list_display = ("name", "client_id", "scope_list", "state", "created_at", "last_used_at")
    readonly_fields = ("client_id", "created_at", "revoked_at", "last_used_at")
    actions = ["revoke"]
    delete_roles = frozenset()  # revoked, never deleted: the audit trail names them

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(description="State")
    def state(self, obj):
        return "revoked" if obj.revoked_at else "active"

    def _manager(self, request) -> bool:
        membership = self._membership(request)
        return request.user.is_superuser or bool(membership and membership.role in MANAGERS)

    def has_add_permission(self, request):
        return self._manager(request)

    def has_change_permission(self, request, obj=None):
        return self._manager(request) and not (obj and obj.revoked_at)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._manager(request):
            actions.pop("revoke", None)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.api_client_update(
                client=obj,
                actor=request.user,
                changes={f: data[f] for f in form.changed_data if f in services.CLIENT_EDITABLE},
            )
            return
        created, secret = services.api_client_create(
            tenant=self.tenant_for(request, obj),
            name=data["name"],
            scopes=data["scopes"],
            allowed_networks=data["allowed_networks"],
            actor=request.user,
        )
        obj.pk, obj.client_id = created.pk, created.client_id
        obj._state.adding = False
        request.api_client_secret = secret  # for response_add only; never stored

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "api_client_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/tenant_api/secret.html",
            {
                **self.admin_site.each_context(request),
                "client": ApiClient.objects.get(pk=obj.pk),
                "secret": secret,
                "token_url": settings.SITE_URL + reverse("api_token"),
                "title": "API client created",
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke (its tokens stop working at once)")
    def revoke(self, request, queryset):
        if not self._manager(request):
            return
        count = sum(services.api_client_revoke(client=c, actor=request.user) for c in queryset)
        self.message_user(request, f"Revoked {count} API client(s).", messages.SUCCESS)
