"""Interview video recordings at the video provider (api.video, see docs/retention.md).

Nothing records video yet: no session has a recording id and no ``VideoSegment`` is written.
This module is where erasure and retention hand recordings over for deletion, so that the
video work only has to fill in the provider call: ``video_recordings_delete`` queues
``live.tasks.delete_video_recordings`` once the caller's transaction commits, and that task,
until a video provider exists, only logs the ids it was given (a warning, so an operator
would notice ids arriving before the provider call does).
"""

from __future__ import annotations

from collections.abc import Iterable


def video_recordings_delete(tenant_id, video_ids: Iterable[str]) -> list[str]:
    """Have the provider delete the recordings ``video_ids`` of tenant ``tenant_id`` once the
    current transaction commits (nothing, if it rolls back). Returns the ids queued."""
    ids = sorted({video_id for video_id in video_ids if video_id})
    if ids:
        from . import tasks  # the task wraps this module's provider call

        tasks.delete_video_recordings.delay_on_commit(str(tenant_id), ids)
    return ids


def provider_delete(tenant_id, video_ids: list[str]) -> list[str]:
    """Delete the recordings at the provider; returns the ids it no longer holds.

    No video provider exists yet, so there is nothing to delete and nothing is returned."""
    return []
