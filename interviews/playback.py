"""Playing a recording back in the console: where a ready video segment can be watched now.

The video provider lives in ``live`` (which depends on this app, not the other way round), so
it registers its reader here when the apps are ready (``live.apps``). A private video's asset
URLs carry a short-lived private token: the console asks for a fresh one each time a player
loads instead of keeping a URL in the page or the database.
"""

from __future__ import annotations

from collections.abc import Callable


class VideoUnavailable(Exception):
    """The video cannot be played right now: the provider is unreachable or refused, or the
    video is not (or no longer) playable there."""


_reader: Callable[[str], str] | None = None


def video_reader_register(reader: Callable[[str], str]) -> None:
    """``reader(provider_video_id)`` returns a URL a browser can play now (an mp4), or raises
    ``VideoUnavailable``."""
    global _reader
    _reader = reader


def video_play_url(provider_video_id: str) -> str:
    """A URL to play the video from now; ``VideoUnavailable`` when there is none."""
    if _reader is None or not provider_video_id:
        raise VideoUnavailable("No video provider is configured.")
    return _reader(provider_video_id)
