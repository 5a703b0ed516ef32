"""What a run is judged by, against the simulator's own record of what was said on each call
(``SimulatedCall.said``), never against what the platform believes:

- no entry lost: every utterance the simulator's transcript events carried is in the session's
  transcript, with its text and speaker;
- none duplicated: no utterance twice (by item id, or by an entry the simulator never said);
- order preserved: the transcript, by ``seq``, lists them as the calls' conversations did
  (calls in the order they were made; within a call, the order of its conversation items);
- the session ended ``completed``, or ``failed``/``abandoned`` with a reason - never left
  ``pending``/``connecting``/``live``;
- the summary written exactly once: one ``summary.ready`` on the session's timeline and the
  summary ``ready`` - or, where every answer fell in the fault's window so that the server's
  capture (which summaries are written from) has none, no summary at all.

The platform's rows are read under the RLS bypass (the harness is not the code under test)."""

from __future__ import annotations

import time
from collections import Counter

TERMINAL = {"completed", "abandoned", "failed"}
LATE_WORDS_SECONDS = 15


def said(calls) -> list[tuple[str, str, str]]:
    """(speaker, item id, text) of everything said on ``calls``, in conversation order."""
    record = []
    for call in calls:
        rank = {item: index for index, item in enumerate(call.items)}
        record += sorted(call.said, key=lambda entry: rank.get(entry[1], len(rank)))
    return record


def _read(session_id):
    from django.db import connections

    from core import rls
    from interviews.models import InterviewSession, SessionEvent, SessionSummary, TranscriptEntry

    connections.close_all()  # a restarted database closed this process's connection too
    with rls.bypass_context():
        session = InterviewSession.objects.get(pk=session_id)
        entries = list(
            TranscriptEntry.objects.filter(session_id=session_id)
            .order_by("seq")
            .values_list("speaker", "provider_item_id", "text", "source")
        )
        summary = SessionSummary.objects.filter(session_id=session_id).first()
        ready = SessionEvent.objects.filter(session_id=session_id, kind="summary.ready").count()
    return session, entries, summary, ready


def wait_settled(session_id, *, timeout: float, summary_timeout: float) -> None:
    """Until the session has ended and its summary is ready or failed (or the time is up)."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        session, _, summary, _ = _retrying(_read, session_id)
        if session.status in TERMINAL:
            break
        time.sleep(0.5)
    give_up = time.monotonic() + summary_timeout
    none_since = None
    while time.monotonic() < give_up:
        session, _, summary, _ = _retrying(_read, session_id)
        if session.status in TERMINAL and summary is not None:
            if summary.status in ("ready", "failed"):
                return
        elif session.status in TERMINAL:
            # No summary asked for when the session ended: unless the server hears the
            # candidate's last words after the end (a late transcription), none is coming.
            none_since = none_since or time.monotonic()
            if time.monotonic() - none_since > LATE_WORDS_SECONDS:
                return
        time.sleep(0.5)


def _retrying(fn, *args, attempts: int = 20):
    from django.db import DatabaseError

    for attempt in range(attempts):
        try:
            return fn(*args)
        except DatabaseError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)
    return None


def problems(session_id, calls, *, summaries: bool = True) -> list[str]:
    """Everything wrong with the run's session; empty when it is clean."""
    session, entries, summary, ready = _retrying(_read, session_id)
    expected = said(calls)
    found = []
    if not expected:
        found.append("the simulator recorded nothing said")
    by_item = Counter(item for _, item, _, _ in entries)
    stored = {item: (speaker, text) for speaker, item, text, _ in entries}
    lost = [e for e in expected if e[1] not in stored]
    wrong = [e for e in expected if e[1] in stored and stored[e[1]] != (e[0], e[2].strip())]
    twice = [item for item, count in by_item.items() if count > 1]
    known = {item for _, item, _ in expected}
    extra = [(speaker, item, text) for speaker, item, text, _ in entries if item not in known]
    if lost:
        found.append(f"{len(lost)} of {len(expected)} entries lost: " + _show(lost))
    if wrong:
        found.append(f"{len(wrong)} entries stored with other text or speaker: " + _show(wrong))
    if twice or extra:
        found.append(f"{len(twice) + len(extra)} entries duplicated or unknown: " + _show(extra))
    order = [item for _, item, _, _ in entries if item in known]
    expected_order = [item for _, item, _ in expected if item in stored]
    if order != expected_order:
        found.append("order not preserved: " + _order_diff(expected_order, order, expected))
    if session.status not in TERMINAL:
        found.append(f"session stuck {session.status}")
    elif session.status != "completed" and not session.end_reason:
        found.append(f"session {session.status} without a reason")
    heard = sum(
        1 for speaker, _, _, source in entries if (speaker, source) == ("candidate", "server")
    )
    if summaries and session.status == "completed" and not heard:
        # Summaries are written from the server's capture only (a candidate cannot write their
        # own evidence); every answer fell in the fault's window, so none is due.
        if summary is not None:
            found.append("a summary was asked for without the server hearing the candidate")
    elif summaries and session.status == "completed":
        if summary is None:
            found.append("no summary was asked for")
        elif summary.status != "ready":
            found.append(f"summary {summary.status}: {summary.error or 'not written'}")
        if ready > 1 or (summary is not None and summary.status == "ready" and ready != 1):
            found.append(f"summary written {ready} times")
    return found


def outcome(session_id) -> str:
    """The session's end, and whether a summary was due (the server heard the candidate)."""
    session, _, summary, _ = _retrying(_read, session_id)
    text = f"{session.status} ({session.end_reason})" if session.end_reason else session.status
    if session.status == "completed" and summary is None:
        text += "; no summary due (the server heard no answer)"
    return text


def _show(entries) -> str:
    return "; ".join(f"{speaker}: {text[:40]!r}" for speaker, _, text in entries[:3])


def _order_diff(expected: list[str], got: list[str], record) -> str:
    text = {item: f"{speaker[0]}:{words[:25]!r}" for speaker, item, words in record}
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if want != have:
            return f"at {index + 1}, expected {text.get(want)} but found {text.get(have)}"
    return "lengths differ"
