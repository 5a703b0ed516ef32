"""Recruiter console page for invitations."""

from django.contrib import admin

from tenants.admin import TenantScopedAdmin

from . import services
from .models import InterviewInvitation, InvitationStatus


@admin.register(InterviewInvitation)
class InterviewInvitationAdmin(TenantScopedAdmin):
    list_display = ("candidate", "template", "status", "expires_at", "send_count", "created_at")
    list_filter = (
        ("template", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("candidate__email", "candidate__full_name")
    list_select_related = ("candidate", "template")
    date_hierarchy = "created_at"
    readonly_fields = (
        "candidate",
        "template",
        "status",
        "expires_at",
        "sent_at",
        "opened_at",
        "accepted_at",
        "revoked_at",
        "send_count",
        "last_send_error",
        "session",
        "created_by",
        "created_at",
    )
    fields = readonly_fields
    actions = ["revoke"]

    @admin.display(description="Status")
    def status(self, obj):
        return InvitationStatus(obj.status).label

    def has_add_permission(self, request):
        return False  # invitations are issued from the candidate list

    @admin.action(description="Revoke selected invitations")
    def revoke(self, request, queryset):
        for invitation in queryset:
            services.invitation_revoke(invitation=invitation, actor=request.user)
        self.message_user(request, "Invitations revoked.")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.has_change_permission(request):
            actions.pop("revoke", None)
        return actions
