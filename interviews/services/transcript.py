"""The interview transcript: appending utterances in conversation order, deduplicated."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from ..models import (
    TERMINAL_STATUSES,
    InterviewSession,
    Speaker,
    TranscriptEntry,
    TranscriptSource,
)
from .live_updates import live_entry_written, live_unchanged, next_seq_and_status
from .summaries import summary_on_late_speech

MAX_TRANSCRIPT_TEXT = 10_000
_SEQ_SHIFT = 1_000_000  # above any real entry count

_TABLE = TranscriptEntry._meta.db_table
# The common case of an append as one statement: a new item (or none), nothing stored that
# came after it, so it goes last. It inserts only then, and returns the new entry's position
# and the id of the entry before it; otherwise no row, and the general path takes over. It
# runs after ``next_seq`` took the session's row lock: a statement of its own, so that its
# snapshot sees every append committed before the lock was granted.
_APPEND_LAST_SQL = f"""
WITH last AS (
    SELECT id, seq FROM {_TABLE} WHERE session_id = %(session)s ORDER BY seq DESC LIMIT 1
), added AS (
    INSERT INTO {_TABLE} (
        id, tenant_id, session_id, seq, speaker, text, provider_item_id, source,
        started_ms, ended_ms, live_seq, created_at
    )
    SELECT %(id)s, %(tenant)s, %(session)s, COALESCE((SELECT seq FROM last), 0) + 1,
        %(speaker)s, %(text)s, %(stored_item_id)s, %(source)s, %(started_ms)s, %(ended_ms)s,
        %(live_seq)s, %(created_at)s
    WHERE NOT EXISTS (
        SELECT 1 FROM {_TABLE}
        WHERE session_id = %(session)s AND %(item_id)s <> ''
            AND provider_item_id = %(item_id)s
    ) AND NOT EXISTS (
        SELECT 1 FROM {_TABLE}
        WHERE session_id = %(session)s AND provider_item_id = ANY(%(later_ids)s)
    )
    RETURNING seq
)
SELECT seq, (SELECT id FROM last) FROM added
"""  # noqa: S608 - the table's name is ours; every value is a parameter


def _make_room(entries, at: int, *, below: int | None = None) -> None:
    """Move the entries from position ``at`` (up to ``below``, if given) down one. Two steps
    keep (session, seq) unique at every row: out of the way, then back one further."""
    moving = entries.filter(seq__gte=at)
    if below is not None:
        moving = moving.filter(seq__lt=below)
    moving.update(seq=F("seq") + _SEQ_SHIFT)
    entries.filter(seq__gte=_SEQ_SHIFT, seq__lt=2 * _SEQ_SHIFT).update(
        seq=F("seq") - _SEQ_SHIFT + 1
    )


def _move_entry(entries, entry: TranscriptEntry, *, to: int) -> None:
    """Move ``entry`` up to position ``to``; the entries from there down to its old place
    move down one."""
    entries.filter(pk=entry.pk).update(seq=3 * _SEQ_SHIFT)  # parked, out of the way
    _make_room(entries, to, below=entry.seq)
    entry.seq = to


@transaction.atomic
def transcript_append(
    *,
    session: InterviewSession,
    speaker: str,
    text: str,
    item_id: str = "",
    source: str = TranscriptSource.SERVER,
    started_ms: int | None = None,
    ended_ms: int | None = None,
    before_item_ids: Collection[str] = (),
) -> tuple[TranscriptEntry | None, bool]:
    """Add one utterance. Deduplicated by the provider's item id: the browser's copy of an
    item the server already has is ignored, and the server's copy replaces the browser's.
    Returns (entry, created).

    Entries go in arrival order, except that an utterance whose text arrives late (the
    candidate's transcription can finish after the interviewer has already answered) is
    placed before the earliest stored entry among ``before_item_ids`` - the items that came
    after it in the conversation - and the entries from there on move down one. The server's
    copy of an item the browser sent first moves the entry there too."""
    text = (text or "").strip()[:MAX_TRANSCRIPT_TEXT]
    if not text:
        return None, False
    # The update's number, under the session's row lock: concurrent appends (sideband and
    # browser) take turns, for seq as for the number.
    live_seq, status = next_seq_and_status(session.pk)
    later_ids = [i for i in before_item_ids if i]
    entry = _append_last(
        session=session,
        speaker=speaker,
        text=text,
        item_id=item_id,
        source=source,
        started_ms=started_ms,
        ended_ms=ended_ms,
        later_ids=later_ids,
        live_seq=live_seq,
    )
    if entry is not None:
        if source == TranscriptSource.SERVER:
            _heard_after_the_end(session, speaker, status)
        return entry, True
    entries = TranscriptEntry.objects.filter(session=session)
    later = (
        entries.filter(provider_item_id__in=later_ids).aggregate(first=Min("seq"))["first"]
        if later_ids
        else None
    )
    if item_id:
        existing = entries.filter(provider_item_id=item_id).first()
        if existing is not None:
            if source == TranscriptSource.SERVER and existing.source == TranscriptSource.CLIENT:
                # The server's account wins entirely: who spoke, what was said and where it
                # belongs in the conversation.
                fields = ["text", "source", "speaker", "started_ms", "ended_ms", "live_seq"]
                if later is not None and later < existing.seq:
                    _move_entry(entries, existing, to=later)
                    fields.append("seq")
                existing.text, existing.source, existing.speaker = text, source, speaker
                existing.started_ms, existing.ended_ms = started_ms, ended_ms
                existing.live_seq = live_seq
                existing.save(update_fields=fields)
                live_entry_written(existing, after=_entry_before(entries, existing.seq))
                _heard_after_the_end(session, speaker, status)
            else:
                live_unchanged(session.pk, live_seq)
            return existing, False
    if later is not None:
        seq, after = later, _entry_before(entries, later)
        _make_room(entries, seq)
    else:
        last = entries.order_by("-seq").values_list("seq", "pk").first()
        seq, after = (last[0] + 1, last[1]) if last else (1, None)
    entry = TranscriptEntry.objects.create(
        tenant_id=session.tenant_id,
        session=session,
        seq=seq,
        speaker=speaker,
        text=text,
        provider_item_id=item_id[:128],
        source=source,
        started_ms=started_ms,
        ended_ms=ended_ms,
        live_seq=live_seq,
    )
    live_entry_written(entry, after=after)
    if source == TranscriptSource.SERVER:
        _heard_after_the_end(session, speaker, status)
    return entry, True


def _heard_after_the_end(session: InterviewSession, speaker: str, status: str) -> None:
    # The summary is asked for when the session ends, from what the server had heard of the
    # candidate by then; their last words can be transcribed a moment after the end. The
    # status is the one read under the row lock: the caller may hold only the session's id
    # (the realtime worker's appends do not read the session first).
    if speaker == Speaker.CANDIDATE and status in TERMINAL_STATUSES:
        summary_on_late_speech(session=InterviewSession.objects.get(pk=session.pk))


def _entry_before(entries, seq: int):
    """The id of the entry just before position ``seq`` (None if none)."""
    return entries.filter(seq__lt=seq).order_by("-seq").values_list("pk", flat=True).first()


def _append_last(*, session, item_id: str, later_ids: list[str], live_seq: int, **fields):
    """The append as one statement when the item is new and nothing stored came after it
    (the entry goes last, as the general path would put it): the new entry, pushed on
    commit, or None if the general path must decide (nothing written)."""
    entry = TranscriptEntry(
        id=uuid.uuid4(),
        tenant_id=session.tenant_id,
        session_id=session.pk,
        provider_item_id=item_id[:128],
        live_seq=live_seq,
        created_at=timezone.now(),
        **fields,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _APPEND_LAST_SQL,
            {
                "id": entry.id,
                "tenant": entry.tenant_id,
                "session": entry.session_id,
                "speaker": str(entry.speaker),
                "text": entry.text,
                "item_id": item_id,
                "stored_item_id": entry.provider_item_id,
                "source": str(entry.source),
                "started_ms": entry.started_ms,
                "ended_ms": entry.ended_ms,
                "live_seq": live_seq,
                "created_at": entry.created_at,
                "later_ids": later_ids,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    entry.seq, after = row
    entry._state.adding, entry._state.db = False, connection.alias
    live_entry_written(entry, after=after)
    return entry
