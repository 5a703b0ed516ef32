"""The operators' page (/admin/operations/): every tenant's interviews, interview minutes and
failures over the last days, for platform operators (superusers) only. Counts, never what
anyone said; reading them is in each tenant's audit trail like any other operator access."""

from datetime import timedelta

from django.contrib import admin
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.maintenance import maintenance_current
from tenants.services import audit_record_many, operator_bypass

from ..selectors import sessions_in_progress, tenant_figures

#: The window of the "recent" figures, in days.
OPERATIONS_DAYS = 30


@require_GET
def operations_view(request):
    # The same answer as a page that does not exist: a member need not learn it is there.
    if not request.user.is_superuser:
        raise Http404
    since = timezone.now() - timedelta(days=OPERATIONS_DAYS)
    # The console's middleware has already opened the operator's bypass (and recorded it);
    # entering it here again says where this read needs it, and refuses anyone else.
    with operator_bypass(actor=request.user, reason="operations page", audit=False):
        figures = tenant_figures(since=since)
        in_progress = sum(sessions_in_progress().values())
        audit_record_many(
            [
                {
                    "action": "operator.viewed",
                    "tenant_id": line.tenant_id,
                    "actor": request.user,
                    "details": {"page": "operations"},
                }
                for line in figures
            ]
        )
    context = {
        **admin.site.each_context(request),
        "title": "Operations",
        "figures": figures,
        "days": OPERATIONS_DAYS,
        "since": since,
        # Before maintenance work: how many interviews are still under way.
        "in_progress": in_progress,
        "maintenance": maintenance_current(),
    }
    return TemplateResponse(request, "admin/operations.html", context)


operations = admin.site.admin_view(operations_view)
