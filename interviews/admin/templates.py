"""Console pages for interview templates, with their questions and rubric inline."""

from django.contrib import admin
from django.db.models import Count

from tenants.admin import TenantScopedAdmin, is_console_member

from .. import services
from ..models import InterviewTemplate, RubricCriterion, TemplateQuestion


class TenantChildInline(admin.StackedInline):
    """Inline rows that belong to the parent's tenant."""

    extra = 0

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(tenant=request.tenant)

    def _can_edit(self, request):
        membership = getattr(request, "membership", None)
        return request.user.is_superuser or bool(membership and membership.can_edit)

    def has_add_permission(self, request, obj=None):
        return self._can_edit(request)

    def has_change_permission(self, request, obj=None):
        return self._can_edit(request)

    def has_delete_permission(self, request, obj=None):
        return self._can_edit(request)

    def has_view_permission(self, request, obj=None):
        return is_console_member(request)


class QuestionInline(TenantChildInline):
    model = TemplateQuestion
    fields = ("position", "text", "guidance")
    extra = 1


class CriterionInline(TenantChildInline):
    model = RubricCriterion
    fields = ("position", "name", "description", "weight")
    extra = 1


@admin.register(InterviewTemplate)
class InterviewTemplateAdmin(TenantScopedAdmin):
    list_display = (
        "title",
        "role",
        "language",
        "voice",
        "max_duration_minutes",
        "question_count",
        "is_active",
    )
    list_filter = ("is_active", "language", "voice")
    search_fields = ("title", "role")
    inlines = [QuestionInline, CriterionInline]
    readonly_fields = ("created_by",)
    account_fields = ("created_by",)
    fieldsets = (
        (None, {"fields": ("tenant", "title", "role", "instructions", "is_active", "created_by")}),
        (
            "Conversation",
            {
                "fields": (
                    "max_duration_minutes",
                    "language",
                    "voice",
                    "model",
                    "transcription_model",
                    "turn_detection",
                )
            },
        ),
        ("Video", {"fields": ("video_required",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(question_count=Count("questions"))

    @admin.display(description="Questions", ordering="question_count")
    def question_count(self, obj):
        return obj.question_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.tenant = self.tenant_for(request, obj)
        services.template_save(template=obj, actor=request.user, changed_fields=form.changed_data)

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)  # sorts the rows into added, changed and deleted, unsaved
        fields_set = {row.instance.pk: row.changed_data for row in formset.extra_forms}
        services.template_parts_save(
            template=form.instance,
            actor=request.user,
            added=[(part, fields_set[part.pk]) for part in formset.new_objects],
            changed=formset.changed_objects,
            deleted=formset.deleted_objects,
        )
