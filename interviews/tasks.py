"""Celery tasks for interviews: thin wrappers around services. Each takes its tenant id."""

import logging
from datetime import timedelta

from asgiref.sync import async_to_sync
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from core import rls
from tenants.services import system_bypass

from . import services
from .models import EndReason, InterviewSession, SessionStatus
from .realtime.provider import ProviderError, get_provider

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
    started. Runs every minute (beat)."""
    now = timezone.now()
    heartbeat_cutoff = now - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT_SECONDS)
    pending_cutoff = now - timedelta(hours=settings.SESSION_PENDING_TTL_HOURS)
    with system_bypass(reason="expire stale sessions"):
        stale = list(
            InterviewSession.objects.filter(
                status__in=[SessionStatus.CONNECTING, SessionStatus.LIVE],
                last_heartbeat_at__lt=heartbeat_cutoff,
            ).values_list("pk", "tenant_id", flat=False)
        )
        never_started = list(
            InterviewSession.objects.filter(
                status=SessionStatus.PENDING, created_at__lt=pending_cutoff
            ).values_list("pk", "tenant_id")
        )
    ended = 0
    for (session_id, tenant_id), reason in [
        *[(row, EndReason.NO_HEARTBEAT) for row in stale],
        *[(row, EndReason.EXPIRED) for row in never_started],
    ]:
        with rls.tenant_context(tenant_id):
            session = InterviewSession.objects.get(pk=session_id)
            if services.session_end(session=session, reason=reason, status=SessionStatus.ABANDONED):
                ended += 1
                if session.provider_call_id:
                    hangup_call.delay_on_commit(
                        str(session_id), str(tenant_id), session.provider_call_id
                    )
    if ended:
        logger.info("abandoned stale sessions", extra={"count": ended})
    return ended
