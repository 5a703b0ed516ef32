"""Console pages for invitations and accommodation requests, and the invitation features of
the candidate list (this app extends the candidate admin, which knows nothing of it)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.response import TemplateResponse

from interviews.admin import CandidateAdmin, candidate_person
from interviews.models import Candidate, InterviewTemplate
from tenants.admin import ReadOnlyInline, TenantScopedAdmin

from . import accommodations, services
from .models import AccommodationRequest, InterviewInvitation, InvitationStatus


class InviteForm(forms.Form):
    template = forms.ModelChoiceField(queryset=InterviewTemplate.objects.none())

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates
        only = templates[:2]
        if len(only) == 1:  # the one active template is the only sensible choice
            self.fields["template"].initial = only[0].pk


class CandidateInvitationInline(ReadOnlyInline):
    model = InterviewInvitation
    fields = ("template", "status", "expires_at", "sent_at", "send_count")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "Invitations"

    @admin.display(description="Status")
    def status(self, obj):
        return InvitationStatus(obj.status).label

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("template")


admin.site.unregister(Candidate)


@admin.register(Candidate)
class CandidateWithInvitationsAdmin(CandidateAdmin):
    inlines = [*CandidateAdmin.inlines, CandidateInvitationInline]
    actions = ["invite", *CandidateAdmin.actions]

    @admin.action(description="Invite to interview", permissions=["change"])
    def invite(self, request, queryset):
        templates = InterviewTemplate.objects.filter(is_active=True)
        if not request.user.is_superuser:
            templates = templates.filter(tenant=request.tenant)
        form = InviteForm(request.POST if "apply" in request.POST else None, templates=templates)
        if form.is_valid():
            try:
                with transaction.atomic():  # all the selection's invitations, or none
                    invitations = services.invitations_issue_many(
                        candidates=list(queryset),
                        template=form.cleaned_data["template"],
                        actor=request.user,
                    )
            except ValidationError as error:
                # Every reason invitation_issue refuses is about the template chosen (not
                # active, another organisation's): the form again, the reason beside it.
                form.add_error("template", error.messages)
            else:
                self.message_user(
                    request, f"{len(invitations)} invitation(s) created; emails are on their way."
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Invite to interview",
            "candidates": queryset,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/invitations/invite.html", context)


def _each(service, past_tense):
    def action(modeladmin, request, queryset):
        changed = sum(1 for invitation in queryset if service(invitation, request.user))
        modeladmin.message_user(request, f"{changed} invitation(s) {past_tense}.")

    return action


@admin.register(InterviewInvitation)
class InterviewInvitationAdmin(TenantScopedAdmin):
    list_display = ("person", "template", "status", "expires_at", "send_count", "created_at")
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
    account_fields = ("created_by",)
    actions = ["resend", "revoke", "expire"]

    @admin.display(description="Status")
    def status(self, obj):
        return InvitationStatus(obj.status).label

    @admin.display(description="Candidate", ordering="candidate__full_name")
    def person(self, obj):
        return candidate_person(obj.candidate)

    def has_add_permission(self, request):
        return False  # invitations are issued from the candidate list

    @admin.action(description="Resend selected invitations (new link)", permissions=["change"])
    def resend(self, request, queryset):
        sent = 0
        for invitation in queryset:
            if invitation.status in services.OPEN_STATUSES:
                services.invitation_resend(invitation=invitation, actor=request.user)
                sent += 1
        self.message_user(request, f"{sent} invitation(s) queued to be sent again.")

    @admin.action(description="Revoke selected invitations", permissions=["change"])
    def revoke(self, request, queryset):
        _each(lambda i, u: services.invitation_revoke(invitation=i, actor=u), "revoked")(
            self, request, queryset
        )

    @admin.action(description="Expire selected invitations now", permissions=["change"])
    def expire(self, request, queryset):
        _each(lambda i, u: services.invitation_expire(invitation=i, actor=u), "expired")(
            self, request, queryset
        )


@admin.register(AccommodationRequest)
class AccommodationRequestAdmin(TenantScopedAdmin):
    list_display = ("candidate", "created_at", "resolved_at")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    search_fields = ("candidate__email", "candidate__full_name", "message")
    list_select_related = ("candidate",)
    readonly_fields = ("candidate", "invitation", "message", "created_at", "resolved_at")
    fields = readonly_fields
    actions = ["mark_resolved"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark selected requests resolved", permissions=["change"])
    def mark_resolved(self, request, queryset):
        count = accommodations.accommodation_resolve(requests=queryset, actor=request.user)
        self.message_user(request, f"{count} request(s) marked resolved.")
