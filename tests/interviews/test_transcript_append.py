"""Appending to the transcript: the one-statement path for a new entry that goes last gives
exactly what the general path gives (rows, positions, update numbers, live pushes), and
concurrent appends to one session take turns."""

import threading

import pytest
from django.db import connections

from core import rls
from core.publish import publisher
from interviews import services
from interviews.models import InterviewSession, TranscriptEntry
from interviews.services import transcript
from tests.factories import SessionFactory

# Pushes go out after commit.
pytestmark = pytest.mark.django_db(transaction=True)

LONG = "  " + "x" * (services.MAX_TRANSCRIPT_TEXT + 50) + "  \n"

# (speaker, text, item_id, source, started_ms, ended_ms, before_item_ids), in arrival order,
# with whether the one-statement path writes it.
SCENARIO = [
    (("interviewer", "Why us?", "q1", "server", 0, 900, ()), True),
    (("interviewer", "A hard bug?", "q2", "server", 1000, 1900, ()), True),
    (("interviewer", "Anything else?", "q3", "server", 2000, 2900, ()), True),
    (("candidate", "   ", "blank", "server", None, None, ()), False),  # nothing to write
    (("candidate", "Your missi", "a1", "client", None, None, ()), True),  # the browser first
    # The server's copy replaces the browser's and moves it before q2 and q3.
    (("candidate", "Your mission.", "a1", "server", 100, 800, ("q3", "q2")), False),
    (("interviewer", "Why us?", "q1", "server", 0, 900, ()), False),  # a copy: unchanged
    (("interviewer", "Why us!", "q1", "client", None, None, ()), False),  # the browser's: too
    # A late answer placed before q3, the entries from there on moving down one.
    (("candidate", "  A race.  ", "a2", "server", 1100, 1500, ("q3", "", "unknown")), False),
    # Nothing stored came after it: plain arrival order.
    (("candidate", "No.", "a3", "server", 3000, 3100, ("unknown",)), True),
    (("candidate", "Typed, no id.", "", "server", None, None, ()), True),
    (("candidate", "Typed, no id.", "", "server", None, None, ()), True),  # no dedupe
    (("candidate", LONG, "a4", "server", None, None, ()), True),  # trimmed, capped
    (("candidate", "Long id.", "i" * 200, "server", None, None, ()), True),
]


def run_scenario(session, monkeypatch, *, one_statement: bool):
    """Each append of SCENARIO to ``session``; what each returned, which went the
    one-statement way, and the pushes, with entry ids named by their item id (or text)."""
    pushes, fast = [], []
    real = transcript._append_last

    def append_last(**kwargs):
        entry = real(**kwargs) if one_statement else None
        fast.append(entry is not None)
        return entry

    monkeypatch.setattr(transcript, "_append_last", append_last)
    monkeypatch.setattr(publisher, "send", lambda group, message: pushes.append(message))
    results = []
    for (speaker, text, item, source, started, ended, before), _ in SCENARIO:
        with rls.tenant_context(session.tenant_id):
            fresh = InterviewSession.objects.get(pk=session.pk)
            entry, created = services.transcript_append(
                session=fresh,
                speaker=speaker,
                text=text,
                item_id=item,
                source=source,
                started_ms=started,
                ended_ms=ended,
                before_item_ids=before,
            )
        results.append((None if entry is None else (entry.provider_item_id, entry.seq), created))
    monkeypatch.undo()
    with rls.tenant_context(session.tenant_id):
        rows = list(
            TranscriptEntry.objects.filter(session=session)
            .order_by("seq")
            .values(
                "id",
                "tenant_id",
                "seq",
                "speaker",
                "text",
                "provider_item_id",
                "source",
                "started_ms",
                "ended_ms",
                "live_seq",
            )
        )
        live_seq = InterviewSession.objects.get(pk=session.pk).live_seq
    names = {str(row.pop("id")): row["provider_item_id"] or row["text"] for row in rows}
    for push in pushes:
        if push.get("kind") == "entry":
            push["entry"]["id"] = names[push["entry"]["id"]]
            push["entry"]["after"] = push["entry"]["after"] and names[push["entry"]["after"]]
    return {"results": results, "rows": rows, "live_seq": live_seq, "pushes": pushes}, fast


def test_the_one_statement_path_gives_what_the_general_path_gives(tenant_a, monkeypatch):
    sessions = [SessionFactory(tenant=tenant_a, status="live") for _ in range(2)]
    general, _ = run_scenario(sessions[0], monkeypatch, one_statement=False)
    fast_path, fast = run_scenario(sessions[1], monkeypatch, one_statement=True)

    # The one-statement path wrote every new entry that went last, and only those.
    assert fast == [writes for (_, text, *_), writes in SCENARIO if text.strip()]
    assert fast_path == general
    # And what both gave is right (not only alike).
    rows = general["rows"]
    assert [(r["seq"], r["provider_item_id"] or r["text"]) for r in rows] == [
        (1, "q1"),
        (2, "a1"),
        (3, "q2"),
        (4, "a2"),
        (5, "q3"),
        (6, "a3"),
        (7, "Typed, no id."),
        (8, "Typed, no id."),
        (9, "a4"),
        (10, "i" * 128),
    ]
    by_item = {r["provider_item_id"]: r for r in rows}
    assert by_item["a1"]["text"] == "Your mission." and by_item["a1"]["source"] == "server"
    assert by_item["q1"]["text"] == "Why us?" and by_item["a2"]["text"] == "A race."
    assert by_item["a4"]["text"] == "x" * services.MAX_TRANSCRIPT_TEXT
    assert all(r["tenant_id"] == tenant_a.pk for r in rows)
    # One update number per append with text, in order, each pushed once.
    numbered = [p["seq"] for p in general["pushes"]]
    assert numbered == sorted(numbered) and len(set(numbered)) == len(fast)
    assert general["live_seq"] == numbered[-1]
    assert [p["kind"] for p in general["pushes"]].count("unchanged") == 2
    first = general["pushes"][0]["entry"]
    assert first == {
        "id": "q1",
        "after": None,
        "speaker": "interviewer",
        "text": "Why us?",
        "source": "server",
        "started_ms": 0,
    }
    assert general["pushes"][1]["entry"]["after"] == "q1"


def test_concurrent_appends_to_one_session_take_turns(tenant_a):
    session = SessionFactory(tenant=tenant_a, status="live")
    first_number = session.live_seq
    barrier = threading.Barrier(2)
    created, errors = {}, []

    def writer(name):
        try:
            barrier.wait(timeout=10)
            for n in range(25):
                # Each writer's own items, and items both capture (sideband and browser).
                for item in (f"{name}{n}", f"both{n}"):
                    with rls.tenant_context(session.tenant_id):
                        _, was_created = services.transcript_append(
                            session=InterviewSession(pk=session.pk, tenant_id=tenant_a.pk),
                            speaker="candidate",
                            text=f"{item} by {name}",
                            item_id=item,
                        )
                    created[(name, item)] = was_created
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with rls.tenant_context(tenant_a.pk):
        rows = list(
            TranscriptEntry.objects.filter(session=session)
            .order_by("seq")
            .values_list("seq", "provider_item_id", "live_seq")
        )
        live_seq = InterviewSession.objects.get(pk=session.pk).live_seq
    items = [item for _, item, _ in rows]
    assert sorted(items) == sorted(
        [f"a{n}" for n in range(25)]
        + [f"b{n}" for n in range(25)]
        + [f"both{n}" for n in range(25)]
    )
    assert [seq for seq, _, _ in rows] == list(range(1, 76))  # no gap, no two alike
    # Each shared item written once, by whichever writer came first; the other's was a copy.
    for n in range(25):
        assert created[("a", f"both{n}")] != created[("b", f"both{n}")]
    # Every append took its own number, and rows were written in number order.
    assert live_seq == first_number + 100
    numbers = [number for *_, number in rows]
    assert numbers == sorted(numbers) and len(set(numbers)) == 75
