"""Celery tasks of the live path: thin wrappers around services. Each takes its tenant id."""

import logging

from asgiref.sync import async_to_sync
from celery import shared_task
from django.utils import timezone

from interviews import selectors, services

from . import video
from .provider import ProviderError, get_provider

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


@shared_task(autoretry_for=(ProviderError,), retry_backoff=30, retry_backoff_max=600)
def delete_video_recordings(tenant_id: str, video_ids: list[str]) -> int:
    """Delete recordings at the video provider (erasure, retention): ``live.video``. Until a
    video provider exists this only logs the ids it was handed."""
    deleted = video.provider_delete(tenant_id, video_ids)
    left = sorted(set(video_ids) - set(deleted))
    if left:
        logger.warning(
            "video recordings not deleted: no video provider",
            extra={"tenant": tenant_id, "video_ids": left},
        )
    return len(deleted)
