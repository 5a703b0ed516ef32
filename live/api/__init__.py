"""The candidate's session API, used by the interview page with its session token.

Every view is scoped to the one session the token names; another session's id answers 404.
The session views are in ``sessions``, the SDP proxy (asynchronous) in ``sdp``; the errors,
the permission and the schema pieces they share have a module each.
"""

from .sdp import SessionSDPView
from .sessions import (
    SessionEndView,
    SessionEventView,
    SessionHeartbeatView,
    SessionStartView,
    SessionStatusView,
    SessionTokenRefreshView,
    TranscriptBatchView,
)

__all__ = [
    "SessionEndView",
    "SessionEventView",
    "SessionHeartbeatView",
    "SessionSDPView",
    "SessionStartView",
    "SessionStatusView",
    "SessionTokenRefreshView",
    "TranscriptBatchView",
]
