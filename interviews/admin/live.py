"""The console's live pages: "Live now" (the tenant's interviews in progress) and the live
panel on a session's page, both fed by live.watch's sockets (static/js/console/live*.js)."""

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..models import ACTIVE_STATUSES
from ..selectors import sessions_live_now


class LiveSessionsMixin:
    """For InterviewSessionAdmin: the "Live now" page and the live panel's context."""

    change_form_template = "admin/interviews/interviewsession/change_form.html"
    change_list_template = "admin/interviews/interviewsession/change_list.html"

    def get_urls(self):
        live = path(
            "live/",
            self.admin_site.admin_view(self.live_now_view),
            name="interviews_interviewsession_live",
        )
        return [live, *super().get_urls()]

    def _live_now(self, request):
        # The console's own scoping (get_queryset: the member's tenant, or every tenant for
        # operators) and then what is on a call.
        return sessions_live_now(self.get_queryset(request))

    def live_now_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Live now",
            "opts": self.model._meta,
            "sessions": list(self._live_now(request)),
            # Members hear status changes on their tenant's socket; operators' pages poll.
            "socket": "" if request.user.is_superuser else "/ws/live/",
            "fragment": request.GET.get("fragment") == "rows",
        }
        template = (
            "admin/interviews/interviewsession/live_now_rows.html"
            if context["fragment"]
            else "admin/interviews/interviewsession/live_now.html"
        )
        return TemplateResponse(request, template, context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "live_now_count": self._live_now(request).count(),
            "live_now_url": reverse("admin:interviews_interviewsession_live"),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        # The panel follows an interview that has not ended; once it has, the page's own
        # sections (transcript, timeline, AI summary) are the record.
        if obj is not None and obj.status in ACTIVE_STATUSES:
            context["live_panel"] = {
                "socket": f"/ws/sessions/{obj.pk}/live/",
                "max_minutes": obj.template.max_duration_minutes,
            }
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)
