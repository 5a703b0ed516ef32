"""Console pages for candidates: the list, the CSV import, the status actions and the CSV
export."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from tenants.admin import ReadOnlyInline, TenantScopedAdmin
from tenants.models import Tenant

from .. import imports, services
from ..models import Candidate, CandidateStatus, InterviewSession
from .exports import ExportPermissionMixin, export_candidates_csv


def candidate_person(candidate) -> str:
    """A candidate in a list: the name, with the address beneath it (the address alone when
    there is no name), so long addresses wrap instead of widening the table."""
    if not candidate.full_name:
        return candidate.email
    return format_html('{}<span class="secondary">{}</span>', candidate.full_name, candidate.email)


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"


class CandidateSessionInline(ReadOnlyInline):
    model = InterviewSession
    fields = ("template", "status", "started_at", "duration", "decision")
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "Interview sessions"

    @admin.display(description="Duration")
    def duration(self, obj):
        return _duration(obj.duration_seconds)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("template")


def _status_action(status: str, label: str):
    def action(modeladmin, request, queryset):
        changed = services.candidate_set_status(
            candidates=queryset, status=status, actor=request.user
        )
        modeladmin.message_user(request, f"{changed} candidate(s) marked {label.lower()}.")

    action.__name__ = f"mark_{status}"
    return admin.action(description=f"Mark selected candidates: {label}", permissions=["change"])(
        action
    )


class CandidateImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 CSV whose first row names the columns: email (required), name, "
        f"external_id. Up to {imports.MAX_ROWS} rows, {imports.MAX_BYTES // (1024 * 1024)} MB.",
    )
    tenant = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, tenants=None, **kwargs):
        super().__init__(*args, **kwargs)
        if tenants is None:
            del self.fields["tenant"]
        else:
            self.fields["tenant"].queryset = tenants
            self.fields["tenant"].required = True


@admin.register(Candidate)
class CandidateAdmin(ExportPermissionMixin, TenantScopedAdmin):
    change_list_template = "admin/interviews/candidate/change_list.html"
    list_display = ("email", "full_name", "external_id", "status", "created_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    search_fields = ("email", "full_name", "external_id")
    date_hierarchy = "created_at"
    fields = ("tenant", "email", "full_name", "external_id", "status", "user", "created_at")
    readonly_fields = ("user", "created_at")
    account_fields = ("user",)
    inlines = [CandidateSessionInline]
    actions = [
        _status_action(CandidateStatus.ADVANCED, "Advanced"),
        _status_action(CandidateStatus.ON_HOLD, "On hold"),
        _status_action(CandidateStatus.REJECTED, "Rejected"),
        _status_action(CandidateStatus.WITHDRAWN, "Withdrawn"),
        export_candidates_csv,
    ]

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="interviews_candidate_import"), *super().get_urls()]

    def import_view(self, request):
        """Bulk CSV import with a per-row report."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        tenants = Tenant.objects.all() if request.user.is_superuser else None
        form = CandidateImportForm(request.POST or None, request.FILES or None, tenants=tenants)
        report = None
        status = 200
        if request.method == "POST" and form.is_valid():
            tenant = form.cleaned_data.get("tenant") or request.tenant
            upload = form.cleaned_data["file"]
            try:
                data = upload.read(imports.MAX_BYTES + 1)
                report = imports.candidates_import_csv(tenant=tenant, data=data, actor=request.user)
            except imports.ImportFileError as error:
                form.add_error("file", error)
        if form.errors:
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import candidates",
            "form": form,
            "report": report,
        }
        return TemplateResponse(
            request, "admin/interviews/candidate/import.html", context, status=status
        )

    def save_model(self, request, obj, form, change):
        if change:
            changes = {
                f: form.cleaned_data[f]
                for f in form.changed_data
                if f in services.CANDIDATE_EDITABLE_FIELDS
            }
            services.candidate_update(candidate=obj, actor=request.user, changes=changes)
            return
        created = services.candidate_create(
            tenant=self.tenant_for(request, obj),
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data.get("full_name", ""),
            external_id=form.cleaned_data.get("external_id", ""),
            actor=request.user,
        )
        if form.cleaned_data.get("status") not in (None, "", CandidateStatus.NEW):
            services.candidate_update(
                candidate=created, actor=request.user, changes={"status": obj.status}
            )
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.candidate_delete(candidate=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for candidate in queryset:
            services.candidate_delete(candidate=candidate, actor=request.user)
