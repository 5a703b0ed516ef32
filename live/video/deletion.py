"""Deleting interview recordings at the video provider (erasure, retention: docs/retention.md
and docs/video.md).

``video_recordings_delete`` queues ``live.tasks.delete_video_recordings`` once the caller's
transaction commits; the task calls ``provider_delete`` and asks again, with exponential
backoff, for the ids still held, up to VIDEO_DELETE_MAX_ATTEMPTS times. An id the provider
would not delete by then is recorded in the tenant's audit trail (``video.delete_failed``,
the video ids and the attempts: no personal data) for the operators - never silently kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tenants.services import audit_record, system_bypass

from .provider import VideoProviderError, get_video_provider

logger = logging.getLogger(__name__)

DELETE_FAILED = "video.delete_failed"


def video_recordings_delete(tenant_id, video_ids: Iterable[str]) -> list[str]:
    """Have the provider delete the recordings ``video_ids`` of tenant ``tenant_id`` once the
    current transaction commits (nothing, if it rolls back). Returns the ids queued."""
    ids = sorted({video_id for video_id in video_ids if video_id})
    if ids:
        from .. import tasks  # the task wraps this module's provider call

        tasks.delete_video_recordings.delay_on_commit(str(tenant_id), ids)
    return ids


def provider_delete(tenant_id, video_ids: list[str]) -> list[str]:
    """Delete the recordings at the provider; returns the ids it no longer holds (deleted now,
    or already gone: a 404 is what we wanted). The others failed and are logged."""
    provider = get_video_provider()
    gone = []
    for video_id in video_ids:
        try:
            deleted = provider.delete_video(video_id)
        except VideoProviderError as error:
            logger.warning(
                "could not delete a video recording",
                extra={"tenant": str(tenant_id), "video_id": video_id, "code": error.code},
            )
            continue
        gone.append(video_id)
        logger.info(
            "video recording deleted" if deleted else "video recording was already gone",
            extra={"tenant": str(tenant_id), "video_id": video_id},
        )
    return gone


def deletion_failed_record(tenant_id, video_ids: list[str], *, attempts: int) -> None:
    """Record for the operators the recordings the provider would not delete (an audit event
    each in the tenant's trail; platform-level if the tenant is gone)."""
    logger.error(
        "video recordings could not be deleted",
        extra={"tenant": str(tenant_id), "video_ids": video_ids, "attempts": attempts},
    )
    from tenants.models import Tenant

    with system_bypass(reason=DELETE_FAILED):
        tenant_known = Tenant.objects.filter(pk=tenant_id).exists()
        for video_id in video_ids:
            audit_record(
                action=DELETE_FAILED,
                tenant_id=tenant_id if tenant_known else None,
                details={"video_id": video_id, "attempts": attempts, "tenant": str(tenant_id)},
            )
