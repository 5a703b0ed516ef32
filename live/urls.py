from django.urls import path

from . import api, views
from .video.api import SessionVideoTokenView, SessionVideoView, VideoWebhookView

urlpatterns = [
    path("interview/session/<uuid:session_id>/", views.session_page, name="interview_session"),
    path("interview/session/<uuid:session_id>/done/", views.session_done, name="interview_done"),
    path("api/video/webhooks/", VideoWebhookView.as_view(), name="video_webhook"),
]

api_urlpatterns = [
    path("<uuid:session_id>/token/", api.SessionTokenRefreshView.as_view(), name="session_token"),
    path("<uuid:session_id>/start/", api.SessionStartView.as_view(), name="session_start"),
    path(
        "<uuid:session_id>/heartbeat/", api.SessionHeartbeatView.as_view(), name="session_heartbeat"
    ),
    path("<uuid:session_id>/end/", api.SessionEndView.as_view(), name="session_end"),
    path("<uuid:session_id>/status/", api.SessionStatusView.as_view(), name="session_status"),
    path("<uuid:session_id>/sdp/", api.SessionSDPView.as_view(), name="session_sdp"),
    path("<uuid:session_id>/events/", api.SessionEventView.as_view(), name="session_events"),
    path("<uuid:session_id>/video/", SessionVideoView.as_view(), name="session_video"),
    path(
        "<uuid:session_id>/video/<uuid:segment_id>/token/",
        SessionVideoTokenView.as_view(),
        name="session_video_token",
    ),
    path(
        "<uuid:session_id>/transcript/",
        api.TranscriptBatchView.as_view(),
        name="session_transcript",
    ),
]
