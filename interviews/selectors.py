"""Reads for interviews."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Length

from core import asyncdb, rls
from core.dbthreads import recover_connection
from core.maintenance import Maintenance
from tenants.models import Tenant, TenantStatus
from tenants.services import system_bypass
from webhooks.models import DeliveryStatus, WebhookDelivery

from .models import (
    ON_CALL_STATUSES,
    Consent,
    EndReason,
    InterviewSession,
    SessionEvent,
    SessionStatus,
    SessionSummary,
    Speaker,
    SummaryStatus,
    TranscriptEntry,
    TranscriptSource,
)


def _candidate_sessions(session_id, user_id):
    """What "this candidate's session" means: session ``session_id`` if it belongs to a
    candidate row linked to account ``user_id``. Every lookup of it starts here, the
    asynchronous one included (``_candidate_session_sql``)."""
    return InterviewSession.objects.filter(pk=session_id, candidate__user_id=user_id)


def session_for_candidate(session_id, user_id, *, tenant_id=None) -> InterviewSession | None:
    """The candidate's session, else None: the same answer for another person's session as for
    a missing one. With ``tenant_id`` (the session token's) only that tenant's rows are looked
    at; without, every tenant's - the interview page, which knows no tenant yet."""
    if not user_id:
        return None
    found = _candidate_sessions(session_id, user_id).select_related(
        "tenant", "template", "candidate"
    )
    if tenant_id:
        with rls.tenant_context(tenant_id):
            return found.first()
    with system_bypass(reason="candidate session lookup"):
        return found.first()


@cache
def _candidate_session_sql() -> str:
    """``_candidate_sessions`` (its status and configuration) as one statement for
    core.asyncdb, which takes named parameters: Django writes the SQL, once, so the two
    lookups cannot drift apart."""
    names = {uuid.UUID(int=1): "session", -1: "user"}
    query = (
        _candidate_sessions(uuid.UUID(int=1), -1)
        .order_by()
        .values_list("status", "realtime_config")
    )
    sql, params = query.query.sql_with_params()
    named = iter(f"%({names[param]})s" for param in params)
    return re.sub(r"%%|%s", lambda match: next(named) if match[0] == "%s" else "%%", sql)


async def session_for_candidate_async(*, session_id, user_id, tenant_id) -> tuple | None:
    """``(status, realtime configuration)`` of the candidate's session in tenant
    ``tenant_id``, else None: ``session_for_candidate`` in one statement on core.asyncdb, for
    the SDP proxy, which must hold no thread while it waits. The configuration is {} for a
    session created before configurations were kept (``session_realtime_config_for_candidate``
    builds it)."""
    rows = await asyncdb.tenant_fetch(
        tenant_id, _candidate_session_sql(), {"session": session_id, "user": user_id}
    )
    if not rows:
        return None
    status, config = rows[0]
    return status, config or {}


async def new_interview_gate_async(tenant_id) -> tuple[bool, Maintenance | None]:
    """Whether tenant ``tenant_id`` is active (not suspended by the platform), and the
    platform's maintenance if it is on, in one statement on core.asyncdb for the SDP proxy:
    asked only before a session's first connection."""
    rows = await asyncdb.tenant_fetch(
        tenant_id,
        "SELECT t.status, m.message, m.retry_after_seconds, m.changed_at "
        "FROM tenants_tenant t LEFT JOIN core_maintenancemode m ON m.enabled "
        "WHERE t.id = %(tenant)s",
        {"tenant": str(tenant_id)},
    )
    if not rows:
        return False, None
    status, *maintenance = rows[0]
    return status == TenantStatus.ACTIVE, (
        Maintenance(*maintenance) if maintenance[1] is not None else None
    )


@recover_connection  # called from a worker thread of the SDP proxy
def session_realtime_config_for_candidate(*, session_id, user_id, tenant_id) -> dict:
    """The configuration the candidate's session was created with (built now for older
    sessions)."""
    session = session_for_candidate(session_id, user_id, tenant_id=tenant_id)
    if session is None:
        raise InterviewSession.DoesNotExist(session_id)
    with rls.tenant_context(tenant_id):
        return session_realtime_config(session)


def consent_for_candidate(consent_id, candidate_id) -> Consent | None:
    if not consent_id:
        return None
    with system_bypass(reason="candidate consent lookup"):
        return Consent.objects.filter(pk=consent_id, candidate_id=candidate_id).first()


def template_realtime_config(template) -> dict:
    """The provider session configuration for ``template`` (the caller has set the tenant
    context)."""
    from .session_config import build_session_config

    return build_session_config(
        template, list(template.questions.all()), list(template.criteria.all())
    )


def session_realtime_config(session: InterviewSession) -> dict:
    """The configuration the session was created with (built now for older sessions)."""
    return session.realtime_config or template_realtime_config(session.template)


def live_calls() -> list[tuple[str, str, str]]:
    """(session id, tenant id, call id) of every session with a provider call that may still
    be running - what the realtime worker attaches to, also after a restart."""
    with system_bypass(reason="realtime worker discovery"):
        rows = InterviewSession.objects.filter(
            status__in=ON_CALL_STATUSES, provider_call_id__gt=""
        ).values_list("pk", "tenant_id", "provider_call_id")
        return [(str(s), str(t), c) for s, t, c in rows]


def sessions_in_progress() -> dict[str, int]:
    """How many sessions of every tenant are connecting or live right now, by status (the
    operators' gauge, read when the metrics are scraped)."""
    with system_bypass(reason="metrics: sessions in progress"):
        rows = (
            InterviewSession.objects.filter(status__in=ON_CALL_STATUSES)
            .order_by()
            .values_list("status")
            .annotate(count=Count("pk"))
        )
        counts = dict(rows)
    return {status: counts.get(status, 0) for status in sorted(ON_CALL_STATUSES)}


@dataclass
class TenantFigures:
    """One tenant's line on the operators' page: counts only, nothing any person said."""

    tenant_id: uuid.UUID
    name: str
    slug: str
    status: str
    sessions_recent: int = 0
    sessions_total: int = 0
    minutes_recent: float = 0.0
    minutes_total: float = 0.0
    failed_recent: int = 0
    abandoned_recent: int = 0
    summaries_failed_recent: int = 0
    webhooks_failed_recent: int = 0


def tenant_figures(*, since) -> list[TenantFigures]:
    """Every tenant's interviews (sessions created since ``since``, and all), interview minutes
    (from going live to the end), sessions that failed or were abandoned (the browser went
    quiet, or the candidate never started: expired), summaries that failed and webhook
    deliveries that failed since ``since``. One grouped query per table, whatever the number
    of tenants. Reads every tenant: call under the operator bypass."""
    figures = {
        row["id"]: TenantFigures(
            tenant_id=row["id"], name=row["name"], slug=row["slug"], status=row["status"]
        )
        for row in Tenant.objects.order_by("name").values("id", "name", "slug", "status")
    }
    recent = Q(created_at__gte=since)
    duration = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    timed = Q(started_at__isnull=False, ended_at__isnull=False)
    sessions = (
        InterviewSession.objects.order_by()
        .values("tenant_id")
        .annotate(
            total=Count("pk"),
            recent=Count("pk", filter=recent),
            time_total=Sum(duration, filter=timed),
            time_recent=Sum(duration, filter=timed & recent),
            failed=Count("pk", filter=recent & Q(status=SessionStatus.FAILED)),
            abandoned=Count("pk", filter=recent & Q(status=SessionStatus.ABANDONED)),
        )
    )
    for row in sessions:
        line = figures.get(row["tenant_id"])
        if line is None:  # created after the tenants were read
            continue
        line.sessions_total, line.sessions_recent = row["total"], row["recent"]
        line.minutes_total = _minutes(row["time_total"])
        line.minutes_recent = _minutes(row["time_recent"])
        line.failed_recent, line.abandoned_recent = row["failed"], row["abandoned"]
    failed_summaries = _count_by_tenant(
        SessionSummary.objects.filter(recent, status=SummaryStatus.FAILED)
    )
    failed_deliveries = _count_by_tenant(
        WebhookDelivery.objects.filter(
            recent, status__in=[DeliveryStatus.FAILED, DeliveryStatus.DEAD]
        )
    )
    for tenant_id, line in figures.items():
        line.summaries_failed_recent = failed_summaries.get(tenant_id, 0)
        line.webhooks_failed_recent = failed_deliveries.get(tenant_id, 0)
    return list(figures.values())


def _minutes(duration: timedelta | None) -> float:
    return round(duration.total_seconds() / 60, 1) if duration else 0.0


def _count_by_tenant(queryset) -> dict:
    rows = queryset.order_by().values_list("tenant_id").annotate(count=Count("pk"))
    return dict(rows)


def session_heard_so_far(
    session: InterviewSession, *, max_items: int, max_chars: int, written_before=None
):
    """What the server itself heard in the session, oldest first - the most recent entries
    within ``max_items`` and ``max_chars``, as (seq, speaker, text, provider item id) - and
    the rubric topics the interviewer has assessed. Only the server's own capture: the
    browser's copy could put words in the interviewer's mouth; and, given ``written_before``,
    only what was written before then (not what was said on the call being handed it).
    (Tenant context set.)"""
    entries = TranscriptEntry.objects.filter(session=session, source=TranscriptSource.SERVER)
    if written_before is not None:
        entries = entries.filter(created_at__lt=written_before)
    entries = entries.order_by("-seq").values_list("seq", "speaker", "text", "provider_item_id")[
        :max_items
    ]
    kept, size = [], 0
    for entry in entries:
        size += len(entry[2])
        if size > max_chars:
            break
        kept.append(entry)
    assessed = SessionEvent.objects.filter(session=session, kind="assessment").values_list(
        "data__criterion", flat=True
    )
    return kept[::-1], sorted({criterion for criterion in assessed if criterion})


def sessions_gone_quiet(*, now) -> list[tuple]:
    """``(session id, tenant id, end reason)`` of every tenant's sessions that went quiet:
    connecting or live with no heartbeat from the browser for a while, or pending and never
    started. For the job that abandons them."""
    heartbeat_cutoff = now - timedelta(seconds=settings.SESSION_HEARTBEAT_TIMEOUT_SECONDS)
    pending_cutoff = now - timedelta(hours=settings.SESSION_PENDING_TTL_HOURS)
    with system_bypass(reason="expire stale sessions"):
        stale = InterviewSession.objects.filter(
            status__in=[SessionStatus.CONNECTING, SessionStatus.LIVE],
            last_heartbeat_at__lt=heartbeat_cutoff,
        ).values_list("pk", "tenant_id")
        never_started = InterviewSession.objects.filter(
            status=SessionStatus.PENDING, created_at__lt=pending_cutoff
        ).values_list("pk", "tenant_id")
        return [
            *[(pk, tenant_id, EndReason.NO_HEARTBEAT) for pk, tenant_id in stale],
            *[(pk, tenant_id, EndReason.EXPIRED) for pk, tenant_id in never_started],
        ]


# --- Live views (live.watch) -----------------------------------------------------------------


def live_entry_payload(entry: TranscriptEntry, *, after) -> dict:
    """An entry as live views show it; ``after`` is the id of the entry before it in the
    conversation (None for the first)."""
    return {
        "id": str(entry.pk),
        "after": str(after) if after else None,
        "speaker": entry.speaker,
        "text": entry.text,
        "source": entry.source,
        "started_ms": entry.started_ms,
    }


def iso_or_none(moment) -> str | None:
    return moment.isoformat() if moment else None


def live_status_payload(session: InterviewSession) -> dict:
    return {
        "id": str(session.pk),
        "status": session.status,
        "connection_state": session.connection_state,
        "started_at": iso_or_none(session.started_at),
        "ended_at": iso_or_none(session.ended_at),
        "end_reason": session.end_reason,
    }


def live_summary_payload(summary) -> dict | None:
    """The AI summary as the live panel shows it (advisory; None before one is asked for)."""
    if summary is None:
        return None
    return {
        "status": summary.status,
        "summary": summary.summary,
        "overall_rating": str(summary.overall_rating) if summary.overall_rating else None,
        "recommendation": summary.get_recommendation_display() if summary.recommendation else "",
    }


def session_live_snapshot(session_id, *, since: int = 0) -> dict | None:
    """A session as a live view starts from, read in one snapshot of the database: its state,
    the number of its latest live update (``seq``) and the transcript entries changed after
    update ``since`` (all of them for 0), in conversation order, each with the entry before
    it. None if the session is not visible (tenant context set by the caller)."""
    if connection.in_atomic_block:
        raise RuntimeError("session_live_snapshot needs a transaction of its own")
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Every read below sees the same moment: what is numbered up to seq and no more.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        session = (
            InterviewSession.objects.select_related("template", "candidate")
            .filter(pk=session_id)
            .first()
        )
        if session is None:
            return None
        if since > session.live_seq:
            since = 0  # the viewer knows of updates this session never had: start over
        order = list(
            TranscriptEntry.objects.filter(session=session)
            .order_by("seq")
            .values_list("pk", "live_seq")
        )
        # Everything for 0 (entries written before updates were numbered have 0 as well).
        changed = {pk for pk, live_seq in order if since == 0 or live_seq > since}
        entries = TranscriptEntry.objects.filter(pk__in=changed).in_bulk() if changed else {}
        summary = SessionSummary.objects.filter(session=session).first()
    payloads, previous = [], None
    for pk, _ in order:
        if pk in changed:
            payloads.append(live_entry_payload(entries[pk], after=previous))
        previous = pk
    return {
        "kind": "snapshot",
        "seq": session.live_seq,
        "since": since,
        "count": len(order),
        "session": {
            **live_status_payload(session),
            "candidate": session.candidate.full_name or session.candidate.email,
            "template": session.template.title,
            "max_duration_minutes": session.template.max_duration_minutes,
        },
        "entries": payloads,
        "summary": live_summary_payload(summary),
    }


def sessions_live_now(sessions):
    """Those of ``sessions`` (a queryset already scoped to what the reader may see) with an
    interview in progress (a call connecting or live), the most recently connected first."""
    return (
        sessions.filter(status__in=ON_CALL_STATUSES)
        .select_related("candidate", "template")
        .order_by("-connecting_at")
    )


# --- Summaries ------------------------------------------------------------------------------


def _heard_from_candidate(session):
    # What the summary is written from: the server's own capture. The browser's fallback copy
    # could put words in anyone's mouth, the candidate's included.
    return TranscriptEntry.objects.filter(
        session=session, source=TranscriptSource.SERVER, speaker=Speaker.CANDIDATE
    )


def session_candidate_speech(session: InterviewSession) -> tuple[int, int]:
    """How much the server heard the candidate say: (turns, characters). (Tenant context
    set.)"""
    found = _heard_from_candidate(session).aggregate(turns=Count("pk"), chars=Sum(Length("text")))
    return found["turns"] or 0, found["chars"] or 0


def summary_material(session: InterviewSession):
    """What the session's summary is written from (``summaries.prompt.SummaryMaterial``):
    the template's questions and rubric, the server's transcript and the interviewer's
    ``record_assessment`` notes. (Tenant context set.)"""
    from .summaries.prompt import Criterion, Note, SummaryMaterial, Utterance

    template = session.template
    transcript = TranscriptEntry.objects.filter(
        session=session, source=TranscriptSource.SERVER
    ).order_by("seq")
    notes = SessionEvent.objects.filter(session=session, kind="assessment").order_by(
        "created_at", "pk"
    )
    return SummaryMaterial(
        role=template.role,
        title=template.title,
        questions=list(template.questions.values_list("text", flat=True)),
        criteria=[
            Criterion(name=c.name, description=c.description, weight=c.weight)
            for c in template.criteria.all()
        ],
        transcript=[
            Utterance(seq=seq, speaker=speaker, text=text)
            for seq, speaker, text in transcript.values_list("seq", "speaker", "text")
        ],
        notes=[
            Note(
                criterion=str(data.get("criterion", "")),
                score=data.get("score"),
                evidence=str(data.get("evidence", "")),
            )
            for data in notes.values_list("data", flat=True)
            if isinstance(data, dict)
        ],
    )
