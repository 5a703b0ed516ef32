"""The console's player reads a fresh asset URL from the provider each time it loads
(registered with ``interviews.playback`` by ``live.apps``)."""

from __future__ import annotations

import logging

from interviews.playback import VideoUnavailable

from .provider import VideoProviderError, get_video_provider

logger = logging.getLogger(__name__)


def fresh_play_url(provider_video_id: str) -> str:
    """The mp4 asset of a playable video, as the provider gives it now (for a private video,
    with a fresh private token). ``VideoUnavailable`` when the provider fails or the video is
    not playable. The mp4 rather than HLS: every browser's ``<video>`` plays it."""
    try:
        state = get_video_provider().get_video(provider_video_id)
    except VideoProviderError as error:
        logger.warning(
            "video.playback_unavailable",
            extra={"video_id": provider_video_id, "error": type(error).__name__},
        )
        raise VideoUnavailable(str(error) or type(error).__name__) from error
    if not (state.playable and state.mp4_url):
        raise VideoUnavailable("The video is not playable at the provider.")
    return state.mp4_url
