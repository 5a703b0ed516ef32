"""The console's "Export selected as CSV" action on the candidates and sessions lists: the
rules (who, from where, how many, which columns, the audit event) are the export services'."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import StreamingHttpResponse
from django.utils import timezone

from .. import services


def _export_action(kind: str, export):
    def action(modeladmin, request, queryset):
        try:
            lines = export(membership=request.membership, actor=request.user, **{kind: queryset})
        except PermissionDenied as refusal:
            modeladmin.message_user(request, str(refusal), level=messages.ERROR)
            return None
        except ValidationError as refusal:
            modeladmin.message_user(request, " ".join(refusal.messages), level=messages.ERROR)
            return None
        # The rows were read within the request (the tenant's database context ends with
        # it); what streams is their CSV, line by line.
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        filename = f"{request.tenant.slug}-{kind}-{stamp}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response

    action.__name__ = f"export_{kind}_csv"
    return admin.action(description="Export selected as CSV", permissions=["export"])(action)


export_candidates_csv = _export_action("candidates", services.candidates_export)
export_sessions_csv = _export_action("sessions", services.sessions_export)


class ExportPermissionMixin:
    """Offers the export action to owners, admins and recruiters (services.export_allowed)."""

    def has_export_permission(self, request):
        return services.export_allowed(getattr(request, "membership", None))
