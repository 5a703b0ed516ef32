"""The call's conversation: where each item sits (the provider's ``previous_item_id``), each
finished utterance written to the transcript in that place, and the hand-over of the stored
transcript to a call that replaces an earlier one of the session."""

from __future__ import annotations

from interviews.models import Speaker, TranscriptSource

# Events that show an item appearing on the call, earliest first: until the provider says
# where it is in the conversation, an item keeps the place it first appeared in.
ORDERING_EVENTS = frozenset(
    {
        "input_audio_buffer.speech_started",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "response.output_item.added",
        "response.output_audio_transcript.delta",
        "response.output_audio_transcript.done",
        "conversation.item.done",
    }
)
# Events that say where an item is in the conversation (its previous_item_id).
PLACING_EVENTS = frozenset(
    {"input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"}
)
# How much of the conversation a replacement call is given (the most recent part).
RESUME_MAX_ITEMS = 200
RESUME_MAX_CHARS = 40_000
RESUME_NOTE = (
    "The candidate's connection dropped and has been restored; the conversation so far is "
    "above. Continue the interview from where it stopped: welcome the candidate back in one "
    "short sentence, do not start over or repeat questions that were already answered, and "
    "if the last question has no answer yet, ask it again."
)


class ConversationOrder:
    """The call's items in conversation order. The provider names each item's predecessor
    (``previous_item_id``, None for the first) when the item joins the conversation, and that
    is the true order: a candidate's "hello?" that began before the interviewer's greeting is
    committed, and joins the conversation, after it. Until then an item keeps the place it
    first appeared in (speech_started, a response's output item), after every placed one."""

    def __init__(self):
        self.items: list[str] = []
        self.placed: set[str] = set()

    def __contains__(self, item_id) -> bool:
        return item_id in self.items

    def seen(self, item_id: str) -> None:
        if item_id not in self.items:
            self.items.append(item_id)

    def place(self, item_id: str, previous: str | None) -> None:
        if item_id in self.placed:
            return
        if item_id in self.items:
            self.items.remove(item_id)
        if previous is None:
            index = 0
        elif previous in self.items:
            index = self.items.index(previous) + 1
        else:  # before this follower attached: after everything placed so far
            index = sum(1 for item in self.items if item in self.placed)
            # ...and right after its predecessor, which this follower never saw (it attached
            # in between, its worker restarted): that item's text can still arrive (a late
            # transcription) and must go before this one.
            self.items.insert(index, previous)
            index += 1
        self.items.insert(index, item_id)
        self.placed.add(item_id)

    def after(self, item_id: str, candidates) -> list[str]:
        """Those of ``candidates`` that come after ``item_id`` in the conversation."""
        if item_id not in self.items:
            return []
        rank = {item: index for index, item in enumerate(self.items)}
        return [c for c in candidates if rank.get(c, -1) > rank[item_id]]


def resume_items(history, *, prefix: str, assessed=()) -> list[dict]:
    """Conversation items that give a replacement call what was said on the earlier ones:
    the interviewer's turns as assistant messages, the candidate's as user messages, then a
    system note to carry on. Empty when nothing was said yet (a fresh start)."""
    if not history:
        return []
    items = []
    for seq, speaker, text in history:
        interviewer = speaker == Speaker.INTERVIEWER
        items.append(
            {
                "id": f"{prefix}{seq}",
                "type": "message",
                "role": "assistant" if interviewer else "user",
                "content": [{"type": "output_text" if interviewer else "input_text", "text": text}],
            }
        )
    note = RESUME_NOTE
    if assessed:
        note += (
            " You have already recorded your assessment of these topics; do not record them "
            "again: " + "; ".join(assessed) + "."
        )
    items.append(
        {
            "id": f"{prefix}note",
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": note}],
        }
    )
    return items


class Conversation:
    """What was said on one call, written to the session's transcript in conversation order."""

    def __init__(self, store):
        self.store = store
        self.order = ConversationOrder()  # the call's items in conversation order
        self.written: list[str] = []  # items this follower wrote to the transcript
        self.seeded: set[str] = set()  # items we handed over from earlier calls
        # When the candidate's speech items began and ended, in ms of the call's audio.
        self.speech: dict[str, dict[str, int]] = {}

    def observe(self, kind: str, event: dict) -> None:
        """Note where the event's item sits, if it says."""
        if kind not in ORDERING_EVENTS:
            return
        item_id = event.get("item_id") or (event.get("item") or {}).get("id")
        if item_id:
            self.order.seen(item_id)
            if kind in PLACING_EVENTS and "previous_item_id" in event:
                self.order.place(item_id, event["previous_item_id"])

    def note_timing(self, event: dict) -> None:
        """Where a candidate's utterance is in the call's audio (what lets a recruiter jump to
        the moment in a recording)."""
        item_id = event.get("item_id")
        field, key = (
            ("started_ms", "audio_start_ms")
            if event["type"] == "input_audio_buffer.speech_started"
            else ("ended_ms", "audio_end_ms")
        )
        value = event.get(key)
        if item_id and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            self.speech.setdefault(item_id, {})[field] = value

    async def item_done(self, item: dict) -> None:
        """A typed answer (a user message) joins the transcript; our hand-over does not."""
        if item.get("id") in self.seeded:
            return  # our own copy of an earlier call's conversation
        if item.get("type") == "message" and item.get("role") == "user":
            typed = " ".join(
                c.get("text", "") for c in item.get("content", []) if c.get("type") == "input_text"
            )
            if typed.strip():
                await self.write(Speaker.CANDIDATE, typed, item.get("id"))

    async def write(self, speaker, text, item_id) -> None:
        if not text:
            return
        timing = self.speech.get(item_id, {}) if item_id else {}
        # Text can arrive out of conversation order (a candidate's transcription finishing
        # after the interviewer's reply): name the written items that came after this one.
        later = self.order.after(item_id, self.written) if item_id else []
        await self.store.transcript_append(
            speaker=speaker,
            text=text,
            item_id=item_id or "",
            source=TranscriptSource.SERVER,
            started_ms=timing.get("started_ms"),
            ended_ms=timing.get("ended_ms"),
            before_item_ids=later,
        )
        if item_id:
            self.written.append(item_id)

    async def stored_so_far(self):
        """The session's transcript from earlier calls (the most recent part), and the topics
        already assessed."""
        history, assessed = await self.store.heard_so_far(
            max_items=RESUME_MAX_ITEMS, max_chars=RESUME_MAX_CHARS
        )
        # Not what was said on this very call (a socket that dropped before the start).
        return [entry[:3] for entry in history if entry[3] not in self.order], assessed

    async def hand_over(self, history, assessed, sideband) -> None:
        """Give this call the conversation so far, each item once per call: the call keeps
        what it was sent through a dropped socket."""
        prefix = f"prior_{self.store.call_id[-8:]}_"
        for item in resume_items(history, prefix=prefix, assessed=assessed):
            if item["id"] in self.seeded:
                continue
            self.seeded.add(item["id"])  # before sending: its echo must not be recorded
            try:
                await sideband.send({"type": "conversation.item.create", "item": item})
            except Exception:
                self.seeded.discard(item["id"])  # not sent: the next attach sends it
                raise
