"""The AI's advisory summary on a session's page in the console, beside the recruiter's own
decision: what it says, its evidence, what wrote it, and asking for it again (recruiters,
admins and owners; not viewers). See docs/summaries.md."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from .. import services
from ..models import ACTIVE_STATUSES, SessionSummary, SummaryStatus
from ..summaries.prompt import SCALE_MAX
from .tables import readonly_table

#: The session page's summary section, in order.
SUMMARY_FIELDS = (
    "summary_status",
    "summary_text",
    "summary_strengths",
    "summary_concerns",
    "summary_criteria",
    "summary_rating",
    "summary_recommendation",
    "summary_provenance",
    "summary_rerun",
)


@admin.action(description="Write the AI summary again", permissions=["change"])
def rerun_summaries(modeladmin, request, queryset):
    asked, refused = 0, []
    for session in queryset:
        try:
            services.summary_rerun(session=session, actor=request.user)
            asked += 1
        except ValidationError as error:
            refused.append(f"{session.audit_label}: {' '.join(error.messages)}")
    if asked:
        modeladmin.message_user(request, f"AI summary asked for again: {asked} session(s).")
    for message in refused:
        modeladmin.message_user(request, message, level=messages.WARNING)


def _score(score) -> str:
    return "not assessed" if score is None else f"{score} / {SCALE_MAX}"


def _quotes(quotes) -> str:
    if not quotes:
        return "-"
    return format_html_join("", '<q class="summary-quote">{}</q><br>', ((q,) for q in quotes))


def _points(points) -> str:
    if not points:
        return "-"
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p,) for p in points)))


class SessionSummaryMixin:
    """For InterviewSessionAdmin: the summary's fields, the list's AI rating column and the
    view that asks for the summary again."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request, obj):
            return fieldsets
        # Viewers read the summary; they cannot ask for it again.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "summary_rerun"]})
            for name, options in fieldsets
        ]

    def get_urls(self):
        view = self.admin_site.admin_view(self.summary_rerun_view)
        return [
            path(
                "<path:object_id>/summary/rerun/",
                view,
                name="interviews_interviewsession_summary_rerun",
            ),
            *super().get_urls(),
        ]

    def summary_rerun_view(self, request, object_id):
        """Ask for the session's AI summary again (the button in its summary section)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        # Another tenant's session is a 404, like every page of it; a viewer may not ask.
        session = self._require_object(request, object_id, page="summary_rerun")
        if not self.has_change_permission(request, session):
            raise PermissionDenied
        try:
            services.summary_rerun(session=session, actor=request.user)
        except ValidationError as error:
            self.report_validation_error(request, error)
        else:
            self.message_user(request, "The AI summary will be written again in a moment.")
        return HttpResponseRedirect(
            reverse("admin:interviews_interviewsession_change", args=[session.pk])
        )

    def _summary(self, obj) -> SessionSummary | None:
        try:
            return obj.summary
        except SessionSummary.DoesNotExist:
            return None

    @admin.display(description="AI rating", ordering="summary__overall_rating")
    def rating(self, obj):
        summary = self._summary(obj)
        if summary is None:
            return "-"
        if summary.overall_rating is not None:
            return summary.overall_rating
        return summary.get_status_display()  # not written yet, or failed

    @admin.display(description="Status")
    def summary_status(self, obj):
        summary = self._summary(obj)
        if summary is None:
            if obj.status in ACTIVE_STATUSES:
                return "Written when the interview ends."
            return "Not asked for (the interview did not give enough to judge)."
        status = summary.get_status_display()
        if summary.status == SummaryStatus.FAILED:
            return format_html("{}: {}", status, summary.error or "unknown error")
        if summary.status in (SummaryStatus.PENDING, SummaryStatus.RUNNING) and summary.summary:
            status += " (a new summary is being written; the one below is the previous one)"
        if summary.status == SummaryStatus.PENDING and summary.error:
            return format_html("{} - {}", status, summary.error)
        return status

    @admin.display(description="Summary")
    def summary_text(self, obj):
        summary = self._summary(obj)
        return summary.summary if summary and summary.summary else "-"

    @admin.display(description="Strengths")
    def summary_strengths(self, obj):
        summary = self._summary(obj)
        return _points(summary.strengths if summary else [])

    @admin.display(description="Concerns")
    def summary_concerns(self, obj):
        summary = self._summary(obj)
        return _points(summary.concerns if summary else [])

    @admin.display(description="Rubric")
    def summary_criteria(self, obj):
        summary = self._summary(obj)
        rows = [
            (
                entry.get("criterion", ""),
                entry.get("weight") or "-",
                _score(entry.get("score")),
                entry.get("rationale") or "-",
                _quotes(entry.get("evidence")),
            )
            for entry in (summary.criterion_scores if summary else [])
            if isinstance(entry, dict)
        ]
        headers = ("Criterion", "Weight", "Score", "Why", "In the candidate's words")
        return readonly_table(headers, rows)

    @admin.display(description="Rating")
    def summary_rating(self, obj):
        summary = self._summary(obj)
        if summary is None or summary.overall_rating is None:
            return "-"
        return f"{summary.overall_rating} / {SCALE_MAX}"

    @admin.display(description="Recommendation")
    def summary_recommendation(self, obj):
        summary = self._summary(obj)
        return summary.get_recommendation_display() if summary and summary.recommendation else "-"

    @admin.display(description="Written by")
    def summary_provenance(self, obj):
        summary = self._summary(obj)
        if summary is None or not summary.model:
            return "-"
        usage = summary.token_usage or {}
        tokens = (
            f"{usage['total_tokens']:,} tokens ({usage.get('input_tokens', 0):,} in, "
            f"{usage.get('output_tokens', 0):,} out)"
            if isinstance(usage.get("total_tokens"), int)
            else "tokens not reported"
        )
        dropped = (
            f"; {summary.quotes_dropped} quote(s) dropped: not found in the transcript"
            if summary.quotes_dropped
            else ""
        )
        return f"{summary.model}, prompt {summary.prompt_version}; {tokens}{dropped}"

    @admin.display(description="Ask again")
    def summary_rerun(self, obj):
        if obj.status in ACTIVE_STATUSES:
            return "-"  # written when the interview ends
        # A submit button of the page's own form, posting it to the re-run view instead (a
        # form cannot nest in another); that view reads nothing of the form but its CSRF token.
        url = reverse("admin:interviews_interviewsession_summary_rerun", args=[obj.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post">'
            "Write the AI summary again</button>",
            url,
        )
