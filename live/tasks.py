"""Celery tasks of the live path: thin wrappers around services. Each takes its tenant id."""

import logging
import random

from asgiref.sync import async_to_sync
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from interviews import selectors, services

from . import video
from .provider import ProviderError, get_provider
from .video import segments
from .video.provider import VideoProviderError, get_video_provider

logger = logging.getLogger(__name__)


async def _hangup(call_id: str) -> None:
    provider = get_provider()
    try:
        await provider.hangup(call_id)
    finally:
        await provider.aclose()  # this loop ends with the call to async_to_sync


@shared_task(autoretry_for=(ProviderError,), retry_backoff=5, max_retries=5)
def hangup_call(session_id: str, tenant_id: str, call_id: str) -> None:
    """Hang up a provider call (its session ended, or a reconnect replaced it)."""
    if call_id:
        async_to_sync(_hangup)(call_id)


@shared_task
def expire_stale_sessions() -> int:
    """Abandon sessions whose browser stopped sending heartbeats, and pending sessions nobody
    started, and hang up their calls. Runs every minute (beat)."""
    ended = 0
    for session_id, tenant_id, reason in selectors.sessions_gone_quiet(now=timezone.now()):
        session = services.session_expire(session_id=session_id, tenant_id=tenant_id, reason=reason)
        if session is not None:
            ended += 1
            if session.provider_call_id:
                hangup_call.delay_on_commit(
                    str(session_id), str(tenant_id), session.provider_call_id
                )
    if ended:
        logger.info("abandoned stale sessions", extra={"count": ended})
    return ended


@shared_task
def delete_video_recordings(tenant_id: str, video_ids: list[str], attempt: int = 1) -> int:
    """Delete recordings at the video provider (erasure, retention): ``live.video.deletion``.
    The ids the provider still holds are asked about again with exponential backoff (half of
    it random); after VIDEO_DELETE_MAX_ATTEMPTS they are recorded for the operators."""
    gone = set(video.provider_delete(tenant_id, video_ids))
    left = sorted(set(video_ids) - gone)
    if left:
        if attempt < settings.VIDEO_DELETE_MAX_ATTEMPTS:
            wait = min(
                settings.VIDEO_DELETE_BACKOFF_SECONDS * 2 ** (attempt - 1),
                settings.VIDEO_DELETE_BACKOFF_MAX_SECONDS,
            )
            wait = wait / 2 + random.uniform(0, wait / 2)  # noqa: S311 (jitter, not a secret)
            logger.warning(
                "video recordings not deleted yet: asking again",
                extra={"tenant": tenant_id, "video_ids": left, "attempt": attempt, "wait": wait},
            )
            delete_video_recordings.apply_async((tenant_id, left, attempt + 1), countdown=wait)
        else:
            video.deletion_failed_record(tenant_id, left, attempts=attempt)
    return len(gone)


@shared_task
def reconcile_video_segments() -> int:
    """Segments no webhook made ready: ask the provider about each (beat, every ten
    minutes; docs/video.md). Returns how many changed."""
    provider = get_video_provider()
    changed = 0
    for video_id, overdue in segments.segments_to_reconcile(now=timezone.now()):
        try:
            changed += bool(
                segments.segment_reconcile(video_id=video_id, overdue=overdue, provider=provider)
            )
        except VideoProviderError as error:  # the next run asks again
            logger.warning(
                "could not reconcile a video segment",
                extra={"video_id": video_id, "code": error.code},
            )
    if changed:
        logger.info("reconciled video segments", extra={"count": changed})
    return changed
