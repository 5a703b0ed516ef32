"""Console pages for interview sessions: transcript, video, timeline, the decision and,
beside it, the AI's advisory summary (which a recruiter can ask to be written again)."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from tenants.admin import TenantScopedAdmin

from .. import services
from ..models import (
    Decision,
    InterviewSession,
    SessionSummary,
    Speaker,
    SummaryStatus,
    TranscriptSource,
)
from ..summaries.prompt import SCALE_MAX
from .candidates import _duration, candidate_person


def _clock(moment) -> str:
    """The time of day to the second: rows of one interview are seconds apart."""
    return formats.time_format(timezone.localtime(moment), "H:i:s") if moment else "-"


def _elapsed(moment, start) -> str:
    """How far into the interview ``moment`` is, e.g. "+02:15" ("-00:04" before it began)."""
    if not (moment and start):
        return "-"
    seconds = int((moment - start).total_seconds())
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes:02d}:{secs:02d}"


def _audio_span(started_ms, ended_ms) -> str:
    """Where speech is in the call's audio, from its start to its end as a range of minutes
    and seconds ("00:29", an en dash, "00:35"); "-" when the provider did not say."""

    def position(ms):
        hours, rest = divmod(ms // 1000, 3600)
        minutes, secs = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"

    if started_ms is None:
        return "-"
    end = "" if ended_ms is None else position(ended_ms)
    return f"{position(started_ms)}\N{EN DASH}{end}"


def _interview_start(session):
    # The interview starts when it goes live; one that never did is timed from its creation.
    return session.started_at or session.created_at


def _table(headers, rows) -> str:
    """A read-only table for a section of a page (plain HTML: no form fields, however long
    an interview's transcript or timeline)."""
    if not rows:
        return "-"
    return format_html(
        '<table class="readonly-rows"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((h,) for h in headers)),
        format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((c,) for c in r)),) for r in rows),
        ),
    )


def _decision_action(decision: str, label: str):
    def action(modeladmin, request, queryset):
        for session in queryset:
            services.session_record_decision(session=session, decision=decision, actor=request.user)
        modeladmin.message_user(request, f"Decision recorded: {label}.")

    action.__name__ = f"decide_{decision}"
    return admin.action(description=f"Decide: {label}", permissions=["change"])(action)


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


@admin.register(InterviewSession)
class InterviewSessionAdmin(TenantScopedAdmin):
    list_display = (
        "person",
        "template",
        "status",
        "started_at",
        "duration",
        "rating",
        "decision",
    )
    list_filter = (
        "status",
        "decision",
        ("template", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("candidate__email", "candidate__full_name", "provider_call_id")
    list_select_related = ("candidate", "template", "summary")
    date_hierarchy = "created_at"
    actions = [
        _decision_action(Decision.ADVANCE, "Advance"),
        _decision_action(Decision.HOLD, "Hold"),
        _decision_action(Decision.REJECT, "Reject"),
        rerun_summaries,
    ]
    fieldsets = (
        (None, {"fields": ("candidate_link", "template", "status", "end_reason")}),
        ("Decision", {"fields": ("decision", "decision_note", "decided_by", "decided_at")}),
        # Beside the decision, as advice: nothing the AI writes changes the decision.
        (
            "AI summary (advice only: the decision is yours)",
            {
                "fields": (
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
            },
        ),
        # Shown as tables rather than inline forms: a long interview's rows as form fields
        # would exceed the number of fields a request may carry, and saving a decision fails.
        ("Transcript", {"fields": ("transcript_table",)}),
        ("Video", {"fields": ("video_table",)}),
        ("Timeline", {"classes": ("collapse",), "fields": ("timeline_table",)}),
        (
            "Connection",
            {
                "classes": ("collapse",),
                "fields": (
                    "provider",
                    "provider_call_id",
                    "model",
                    "voice",
                    "connection_state",
                    "created_at",
                    "connecting_at",
                    "started_at",
                    "ended_at",
                    "last_heartbeat_at",
                    "video_recording_url",
                    "client_info",
                ),
            },
        ),
    )
    editable_fields = ("decision", "decision_note")
    account_fields = ("decided_by",)

    def get_readonly_fields(self, request, obj=None):
        names = [f for fs in self.fieldsets for f in fs[1]["fields"]]
        return self.with_account_fields(
            request, [n for n in names if n not in self.editable_fields]
        )

    def has_add_permission(self, request):
        return False  # sessions start from an accepted invitation

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

    @admin.display(description="Candidate", ordering="candidate__full_name")
    def person(self, obj):
        return candidate_person(obj.candidate)

    @admin.display(description="Candidate")
    def candidate_link(self, obj):
        url = reverse("admin:interviews_candidate_change", args=[obj.candidate_id])
        return format_html('<a href="{}">{}</a>', url, obj.candidate)

    @admin.display(description="Duration")
    def duration(self, obj):
        return _duration(obj.duration_seconds)

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
        return _table(("Criterion", "Weight", "Score", "Why", "In the candidate's words"), rows)

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
        # A submit button of the page's own form, posting it to the re-run view instead (a
        # form cannot nest in another); that view reads nothing of the form but its CSRF token.
        url = reverse("admin:interviews_interviewsession_summary_rerun", args=[obj.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post">'
            "Write the AI summary again</button>",
            url,
        )

    @admin.display(description="Transcript")
    def transcript_table(self, obj):
        # Rows are in conversation order. When a row's text arrived is not when it was said
        # (a candidate's transcription can finish after the interviewer has replied), so it
        # gets no time into the interview, which would read as the moment of speech and run
        # backwards; the time of day stays to line it up with the timeline. Where the
        # provider says where the speech is in the call's audio, that is shown.
        speakers, sources = dict(Speaker.choices), dict(TranscriptSource.choices)
        rows = [
            (
                seq,
                _audio_span(started_ms, ended_ms),
                _clock(at),
                speakers.get(speaker, speaker),
                text,
                sources.get(source, source),
            )
            for seq, speaker, text, started_ms, ended_ms, source, at in obj.transcript.order_by(
                "seq"
            ).values_list(
                "seq", "speaker", "text", "started_ms", "ended_ms", "source", "created_at"
            )
        ]
        headers = ("#", "Speech in the call", "Text arrived", "Speaker", "Text", "Source")
        return _table(headers, rows)

    @admin.display(description="Video")
    def video_table(self, obj):
        rows = [
            (
                segment.get_status_display(),
                _clock(segment.started_at),
                _elapsed(segment.started_at, _interview_start(obj)),
                segment.duration_seconds or "-",
                format_html(
                    '<a href="{}" target="_blank" rel="noopener">Watch</a>', segment.playback_url
                )
                if segment.playback_url
                else "-",
            )
            for segment in obj.video_segments.order_by("started_at", "pk")
        ]
        return _table(("Status", "Started", "Into interview", "Seconds", "Playback"), rows)

    @admin.display(description="Timeline")
    def timeline_table(self, obj):
        start = _interview_start(obj)
        rows = [
            (
                _clock(at),
                _elapsed(at, start),
                kind,
                json.dumps(data, sort_keys=True) if data else "",
            )
            for at, kind, data in obj.events.order_by("created_at", "pk").values_list(
                "created_at", "kind", "data"
            )
        ]
        return _table(("Time", "Into interview", "Event", "Details"), rows)

    def save_model(self, request, obj, form, change):
        if {"decision", "decision_note"} & set(form.changed_data):
            services.session_record_decision(
                session=obj,
                decision=form.cleaned_data.get("decision", ""),
                note=form.cleaned_data.get("decision_note", ""),
                actor=request.user,
            )
