"""Video segments: one per recording the browser makes (a reconnection starts a new one).

A segment is born ``recording`` with a private provider video and a delegated upload token for
the browser; the provider's webhook (or, failing that, the reconciliation job) moves it to
``ready`` with its duration, player and thumbnail, or to ``failed``. Each change is on the
session's timeline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import rls
from interviews import services
from interviews.models import InterviewSession, SessionStatus, VideoSegment, VideoStatus
from tenants.services import system_bypass

from .provider import UploadToken, VideoNotFound, VideoProvider, VideoState

logger = logging.getLogger(__name__)

#: A session may record while it can still be (or is) on a call.
RECORDABLE_STATUSES = frozenset(
    {SessionStatus.PENDING, SessionStatus.CONNECTING, SessionStatus.LIVE}
)
OPEN_STATUSES = (VideoStatus.RECORDING, VideoStatus.UPLOADED)


class SessionNotRecordable(Exception):
    """The session has ended: it takes no new recording."""


class VideoDisabled(Exception):
    """The session's tenant does not record video (its ``video_enabled`` setting)."""


class SegmentNotFound(Exception):
    """No such segment in this session."""


class SegmentClosed(Exception):
    """The segment takes no more parts: the provider has its whole video, or it failed."""


#: The page finishes uploading its last parts after the interview ended (at most 15 s on the
#: page; this is generous for a slow network).
UPLOAD_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class NewSegment:
    segment: VideoSegment
    token: UploadToken


def segment_start(*, session: InterviewSession, provider: VideoProvider) -> NewSegment:
    """A new segment of ``session`` bound to a new private video at the provider, with an
    upload token for the browser. The provider is asked before the row is written (call it
    outside any transaction: none waits on the provider); if the session ended meanwhile, or
    the row cannot be written, the new video is deleted again."""
    if not session.tenant.video_enabled:
        raise VideoDisabled()
    if session.status not in RECORDABLE_STATUSES:
        raise SessionNotRecordable()
    # The title is all the provider learns: no name, no address.
    video_id = provider.create_video(f"interview {session.pk}")
    try:
        token = provider.upload_token(settings.VIDEO_UPLOAD_TOKEN_TTL_SECONDS, video_id)
        with rls.tenant_context(session.tenant_id), transaction.atomic():
            locked = InterviewSession.objects.select_for_update().get(pk=session.pk)
            if locked.status not in RECORDABLE_STATUSES:
                raise SessionNotRecordable()
            now = timezone.now()
            # A new recording (a reconnection) means the page stopped the one before it.
            VideoSegment.objects.filter(session=locked, ended_at__isnull=True).update(ended_at=now)
            segment = VideoSegment.objects.create(
                tenant_id=session.tenant_id,
                session=locked,
                provider_video_id=video_id,
                status=VideoStatus.RECORDING,
                started_at=now,
            )
            services.session_event_record(
                session=locked,
                kind="video.segment_started",
                data={"segment": str(segment.pk), "video_id": video_id},
            )
    except BaseException:
        _forget_video(provider, video_id)
        raise
    return NewSegment(segment=segment, token=token)


def segment_upload_token(
    *, session: InterviewSession, segment_id, provider: VideoProvider
) -> UploadToken:
    """A fresh upload token for one of ``session``'s segments still taking parts: the page
    renews before its token expires (a long interview outlives
    VIDEO_UPLOAD_TOKEN_TTL_SECONDS), or when an upload was refused with 401. Allowed while the
    session may record and for UPLOAD_GRACE after it ended, so the last parts can go up."""
    segment = VideoSegment.objects.filter(session=session, pk=segment_id).first()
    if segment is None:
        raise SegmentNotFound()
    if segment.status != VideoStatus.RECORDING:
        raise SegmentClosed()
    if session.status not in RECORDABLE_STATUSES:
        ended_at = session.ended_at or session.updated_at
        if ended_at is None or ended_at < timezone.now() - UPLOAD_GRACE:
            raise SessionNotRecordable()
    return provider.upload_token(settings.VIDEO_UPLOAD_TOKEN_TTL_SECONDS, segment.provider_video_id)


def _forget_video(provider: VideoProvider, video_id: str) -> None:
    try:
        provider.delete_video(video_id)
    except Exception:
        # The beat job cannot find it (no segment names it): the operators must.
        logger.exception("could not delete an unused video", extra={"video_id": video_id})


def segment_tenant(video_id: str):
    """The tenant of the segment recording ``video_id``, whichever it is (a webhook names only
    the video), else None."""
    if not video_id:
        return None
    with system_bypass(reason="video webhook"):
        return (
            VideoSegment.objects.filter(provider_video_id=video_id)
            .values_list("tenant_id", flat=True)
            .first()
        )


def segment_apply_state(*, video_id: str, state: VideoState | None, reason: str) -> str | None:
    """Bring the segment recording ``video_id`` up to the provider's ``state`` (None: the
    provider no longer has the video). Returns the segment's new status if it changed, else
    None: a redelivered webhook, or one for a quality encoded after the first, changes nothing.
    """
    tenant_id = segment_tenant(video_id)
    if tenant_id is None:
        return None
    with rls.tenant_context(tenant_id), transaction.atomic():
        segment = (
            VideoSegment.objects.select_for_update()
            .select_related("session")
            .filter(provider_video_id=video_id)
            .first()
        )
        if segment is None or segment.status == VideoStatus.READY:
            return None
        if segment.status == VideoStatus.FAILED and not (state and state.playable):
            return None  # only a late but playable video brings a failed segment back
        if state is None:
            new, data = VideoStatus.FAILED, {"why": "gone at the provider"}
        elif state.playable:
            new = VideoStatus.READY
            segment.duration_seconds = state.duration_seconds
            segment.playback_url = state.player_url[:500]
            segment.thumbnail_url = state.thumbnail_url[:500]
            data = {"duration_seconds": state.duration_seconds}
        elif state.uploaded and segment.status == VideoStatus.RECORDING:
            new, data = VideoStatus.UPLOADED, {}
        else:
            return None
        segment.status = new
        if segment.ended_at is None and new != VideoStatus.FAILED:
            segment.ended_at = timezone.now()
        segment.save()
        services.session_event_record(
            session=segment.session,
            kind=f"video.segment_{new}",
            data={"segment": str(segment.pk), "video_id": video_id, "via": reason, **data},
        )
        return new


def segment_fail(*, video_id: str, why: str) -> str | None:
    """Mark the segment recording ``video_id`` failed (it never became playable)."""
    tenant_id = segment_tenant(video_id)
    if tenant_id is None:
        return None
    with rls.tenant_context(tenant_id), transaction.atomic():
        segment = (
            VideoSegment.objects.select_for_update()
            .select_related("session")
            .filter(provider_video_id=video_id, status__in=OPEN_STATUSES)
            .first()
        )
        if segment is None:
            return None
        segment.status = VideoStatus.FAILED
        segment.save(update_fields=["status"])
        services.session_event_record(
            session=segment.session,
            kind="video.segment_failed",
            data={"segment": str(segment.pk), "video_id": video_id, "why": why},
        )
        return VideoStatus.FAILED


def segments_to_reconcile(*, now) -> list[tuple[str, bool]]:
    """``(video id, overdue)`` of every tenant's segments still recording or uploaded
    VIDEO_RECONCILE_AFTER_MINUTES after they were created; overdue past VIDEO_FAIL_AFTER_HOURS.
    """
    quiet = now - timedelta(minutes=settings.VIDEO_RECONCILE_AFTER_MINUTES)
    overdue = now - timedelta(hours=settings.VIDEO_FAIL_AFTER_HOURS)
    with system_bypass(reason="video reconciliation"):
        rows = (
            VideoSegment.objects.filter(status__in=OPEN_STATUSES, created_at__lte=quiet)
            .exclude(provider_video_id="")
            .order_by("created_at")
            .values_list("provider_video_id", "created_at")[:500]
        )
        return [(video_id, created <= overdue) for video_id, created in rows]


def segment_reconcile(*, video_id: str, overdue: bool, provider: VideoProvider) -> str | None:
    """Ask the provider about one quiet segment and apply what it says."""
    try:
        state = provider.get_video(video_id)
    except VideoNotFound:
        state = None
    changed = segment_apply_state(video_id=video_id, state=state, reason="reconcile")
    if changed is None and overdue and (state is None or not state.playable):
        return segment_fail(video_id=video_id, why="not playable in time")
    return changed
