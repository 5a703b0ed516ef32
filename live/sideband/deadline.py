"""The interview's time limit: the template's maximum duration, counted from when the session
went live (or began connecting), and the follower's timer that ends the session at it."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from django.utils import timezone

from interviews.models import EndReason

logger = logging.getLogger(__name__)


def session_deadline(session) -> datetime:
    start = session.started_at or session.connecting_at or timezone.now()
    return start + timedelta(minutes=session.template.max_duration_minutes)


async def end_at_deadline(deadline: datetime | None, *, end, sideband, call_id: str) -> None:
    """Wait for ``deadline``, then ``end(EndReason.MAX_DURATION)``."""
    if deadline is None:
        return
    await asyncio.sleep(max((deadline - timezone.now()).total_seconds(), 0))
    try:
        await end(EndReason.MAX_DURATION)
    except Exception:
        # Not a silent failure in a forgotten task: drop the socket, and the loop ends the
        # session once it can read it again.
        logger.exception("sideband: ending at the time limit failed", extra={"call": call_id})
        await sideband.close()
