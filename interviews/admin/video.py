"""The session page's video: each ready recording (segment) played inline, and a way from a
transcript line to its moment in the recording (static/js/console/session-video.js).

The page holds no provider URL: each ``<video>`` loads from a console view that asks the
provider for a fresh asset (``interviews.playback``) and redirects to it, so a private video's
short-lived token is minted when a player loads, and only for those who may see the session.
The page itself never waits on the provider: when the provider is unreachable the player says
"Video unavailable right now" (the view answers 503)."""

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join

from ..models import VideoStatus
from ..playback import VideoUnavailable, video_play_url

UNAVAILABLE = "Video unavailable right now. Reload the page in a minute to try again."

#: The interview page's notes on the timeline (live.api.sessions.CLIENT_EVENT_KINDS) that
#: explain a missing or incomplete recording, as the recruiter reads them.
MISSING_VIDEO_NOTES = {
    "video.unavailable": "Not recorded",
    "video.upload_delayed": "Upload delayed",
    "video.upload_resumed": "Upload resumed",
    "video.upload_failed": "Upload stopped",
}
REQUIRED_NOTE = "This interview required video, and no recording of it can be played."
#: The page's reason codes in plain words; any other code is shown as it is.
REASONS = {
    "camera_denied": "the candidate did not allow the camera",
    "camera_unavailable": "no working camera was found",
    "recorder_unsupported": "the browser cannot record video",
    "recorder_failed": "the browser's recorder failed",
    "video_disabled": "video is turned off for the company",
    "ended_before_recording": "the interview ended before recording began",
    "upload_network": "the network failed",
    "upload_too_slow": "the network was too slow to keep up",
    "upload_backlog": "more video was waiting than the browser keeps",
    "upload_unfinished": "the last parts were not uploaded when the page closed",
}


def _position(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def ready_segments(session) -> list:
    """The session's playable recordings, in the order they were recorded."""
    return [
        segment
        for segment in session.video_segments.order_by("started_at", "pk")
        if segment.status == VideoStatus.READY and segment.provider_video_id and segment.started_at
    ]


def seek_link(segments, started_ms, arrived_at) -> str:
    """A transcript line's link to its moment in the recording, or "-".

    A reconnection starts a new call (whose audio starts again at 00:00) and a new recording,
    so the line belongs to the last recording that started before its text arrived, and its
    position there is where the provider says the speech is in the call's audio; for a line
    without one (the interviewer's, a typed answer) it is when its text arrived, a little after
    it was said."""
    segment = next((s for s in reversed(segments) if s.started_at <= arrived_at), None)
    if segment is None:
        return "-"
    if started_ms is not None:
        at = started_ms / 1000
    else:
        at = (arrived_at - segment.started_at).total_seconds()
    if segment.duration_seconds is not None and at > segment.duration_seconds:
        return "-"  # after the recording stopped
    at = max(at, 0.0)
    return format_html(
        '<a href="#video" class="video-seek" data-segment="{}" data-at="{}" '
        'title="Watch this moment in the recording">{}</a>',
        segment.pk,
        f"{at:.1f}",
        _position(at),
    )


def _reason(code: str) -> str:
    if code.startswith("upload_http_"):
        return f"the video service answered {code.removeprefix('upload_http_')}"
    return REASONS.get(code, code)


def missing_video_notes(session, clock, *, playable: bool):
    """Why the session's video is missing or incomplete, from the page's timeline notes, and
    whether its template required video; "" when there is nothing to say."""
    notes = [
        (clock(at), MISSING_VIDEO_NOTES[kind], _reason(str((data or {}).get("reason", ""))))
        for kind, data, at in session.events.filter(kind__in=MISSING_VIDEO_NOTES)
        .order_by("created_at", "pk")
        .values_list("kind", "data", "created_at")
    ]
    required = session.template.video_required and not playable
    if not (notes or required):
        return ""
    return format_html(
        '<div class="video-notes">{}<ul>{}</ul></div>',
        format_html('<p class="video-required" role="note">{}</p>', REQUIRED_NOTE)
        if required
        else "",
        format_html_join("", "<li>{} {}: {}</li>", notes),
    )


class SessionVideoMixin:
    """For InterviewSessionAdmin: the player view and the video section's players."""

    def get_urls(self):
        play = path(
            "<path:object_id>/video/<uuid:segment_id>/",
            self.admin_site.admin_view(self.video_play_view),
            name="interviews_interviewsession_video_play",
        )
        return [play, *super().get_urls()]

    def video_play_view(self, request, object_id, segment_id):
        """Redirects to a fresh asset of one of the session's ready recordings; 404 for a
        session or recording out of the user's sight, 503 when the provider cannot say."""
        # The console's own lookup: another tenant's session is a 404, an operator's view is
        # in the tenant's audit trail.
        session = self._require_object(request, object_id, page="video")
        if not self.has_view_permission(request, session):
            raise Http404("No such session.")
        segment = session.video_segments.filter(pk=segment_id, status=VideoStatus.READY).first()
        if segment is None:
            raise Http404("No such recording.")
        try:
            response = HttpResponseRedirect(video_play_url(segment.provider_video_id))
        except VideoUnavailable:
            response = HttpResponse(UNAVAILABLE, status=503, content_type="text/plain")
            response["Retry-After"] = "30"
        add_never_cache_headers(response)  # the asset's token is short-lived: never reuse it
        return response

    def video_player(self, session, segment, offset: str) -> str:
        url = reverse("admin:interviews_interviewsession_video_play", args=[session.pk, segment.pk])
        return format_html(
            '<video controls preload="metadata" playsinline src="{}" data-segment="{}" '
            'aria-label="Recording from {} into the interview"></video>'
            '<p class="video-unavailable" role="status" hidden>{}</p>',
            url,
            segment.pk,
            offset,
            UNAVAILABLE,
        )
