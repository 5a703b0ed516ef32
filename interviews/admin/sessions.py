"""Console pages for interview sessions: transcript, video, timeline, the decision and,
beside it, the AI's advisory summary (``summaries.SessionSummaryMixin``)."""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html

from tenants.admin import TenantScopedAdmin

from .. import services
from ..models import Decision, InterviewSession, Speaker, TranscriptSource
from .candidates import _duration, candidate_person
from .exports import ExportPermissionMixin, export_sessions_csv
from .live import LiveSessionsMixin
from .summaries import SUMMARY_FIELDS, SessionSummaryMixin, rerun_summaries
from .tables import readonly_table as _table
from .video import SessionVideoMixin, missing_video_notes, ready_segments, seek_link


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


def _decision_action(decision: str, label: str):
    def action(modeladmin, request, queryset):
        for session in queryset:
            services.session_record_decision(session=session, decision=decision, actor=request.user)
        modeladmin.message_user(request, f"Decision recorded: {label}.")

    action.__name__ = f"decide_{decision}"
    return admin.action(description=f"Decide: {label}", permissions=["change"])(action)


@admin.register(InterviewSession)
class InterviewSessionAdmin(
    ExportPermissionMixin,
    SessionVideoMixin,
    LiveSessionsMixin,
    SessionSummaryMixin,
    TenantScopedAdmin,
):
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
        export_sessions_csv,
    ]
    fieldsets = (
        (None, {"fields": ("candidate_link", "template", "status", "end_reason")}),
        ("Decision", {"fields": ("decision", "decision_note", "decided_by", "decided_at")}),
        # Beside the decision, as advice: nothing the AI writes changes the decision.
        ("AI summary (advice only: the decision is yours)", {"fields": SUMMARY_FIELDS}),
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

    @admin.display(description="Transcript")
    def transcript_table(self, obj):
        # Rows are in conversation order. When a row's text arrived is not when it was said
        # (a candidate's transcription can finish after the interviewer has replied), so it
        # gets no time into the interview, which would read as the moment of speech and run
        # backwards; the time of day stays to line it up with the timeline. Where the
        # provider says where the speech is in the call's audio, that is shown.
        # With recordings, each line links to its moment in the video (video.seek_link).
        speakers, sources = dict(Speaker.choices), dict(TranscriptSource.choices)
        segments = ready_segments(obj)
        rows = [
            (
                seq,
                _audio_span(started_ms, ended_ms),
                _clock(at),
                speakers.get(speaker, speaker),
                text,
                sources.get(source, source),
                *((seek_link(segments, started_ms, at),) if segments else ()),
            )
            for seq, speaker, text, started_ms, ended_ms, source, at in obj.transcript.order_by(
                "seq"
            ).values_list(
                "seq", "speaker", "text", "started_ms", "ended_ms", "source", "created_at"
            )
        ]
        headers = ("#", "Speech in the call", "Text arrived", "Speaker", "Text", "Source")
        return _table((*headers, "Video") if segments else headers, rows)

    @admin.display(description="Video")
    def video_table(self, obj):
        # Ready recordings play inline (video.SessionVideoMixin: a fresh asset each time a
        # player loads); the others say where they are.
        start, playable = _interview_start(obj), {s.pk for s in ready_segments(obj)}
        rows = []
        for segment in obj.video_segments.order_by("started_at", "pk"):
            offset = _elapsed(segment.started_at, start)
            ready = segment.pk in playable
            rows.append(
                (
                    segment.get_status_display(),
                    _clock(segment.started_at),
                    offset,
                    segment.duration_seconds or "-",
                    self.video_player(obj, segment, offset) if ready else "-",
                )
            )
        table = _table(("Status", "Started", "Into interview", "Seconds", "Player"), rows)
        notes = missing_video_notes(obj, _clock, playable=bool(playable))
        return format_html('<div id="video" class="session-video">{}{}</div>', notes, table)

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
