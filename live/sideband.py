"""The server's own connection to each live call: the source of truth for the transcript and
for the interviewer's tool calls, and the guard of the session configuration."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from django.utils import timezone

from core import rls
from core.dbthreads import recover_connection
from interviews import selectors, services
from interviews.models import (
    ON_CALL_STATUSES,
    EndReason,
    InterviewSession,
    SessionEvent,
    Speaker,
    TranscriptSource,
)
from interviews.session_config import drifted, guarded_parts, tool_argument_errors

from .provider import ProviderError, RealtimeProvider

logger = logging.getLogger(__name__)

HANGUP_GRACE_SECONDS = 3  # let the goodbye finish playing before hanging up
MAX_REASSERTS = 3  # corrections in a row the provider may answer with the same difference
START_POLL_SECONDS = 0.2  # how often a new call checks whether the browser has connected
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
        self.items.insert(index, item_id)
        self.placed.add(item_id)

    def after(self, item_id: str, candidates) -> list[str]:
        """Those of ``candidates`` that come after ``item_id`` in the conversation."""
        if item_id not in self.items:
            return []
        rank = {item: index for index, item in enumerate(self.items)}
        return [c for c in candidates if rank.get(c, -1) > rank[item_id]]


class CallGone(Exception):
    """The session ended or moved to another call: stop following this one."""


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


class SidebandSession:
    """Follows one provider call of one session until the session ends or changes call."""

    def __init__(
        self,
        *,
        session_id: str,
        tenant_id: str,
        call_id: str,
        provider: RealtimeProvider,
        reconnect_delays=(0.5, 1, 2, 4, 8),
        start_wait: float = 15,
    ):
        self.session_id = session_id
        self.tenant_id = tenant_id
        self.call_id = call_id
        self.provider = provider
        self.reconnect_delays = reconnect_delays
        self.config: dict = {}
        self.deadline = None
        self.ending = False
        self.pending_end: str | None = None
        self.started = False
        self.responded = False  # a response began on this call (first: the candidate spoke)
        self.continue_after: set[str] = set()  # responses whose tool outputs we answered
        self.start_wait = start_wait
        self.live = False
        self.seeded: set[str] = set()
        self.order = ConversationOrder()  # the call's items in conversation order
        self.written: list[str] = []  # items this follower wrote to the transcript
        # When the candidate's speech items began and ended, in ms of the call's audio.
        self.speech: dict[str, dict[str, int]] = {}
        self.reasserts = 0
        self.last_drift = ""

    # --- database (in the worker's DB thread, inside the tenant's context) ---

    def _with_session(self, fn):
        @recover_connection
        def run():
            with rls.tenant_context(self.tenant_id):
                session = InterviewSession.objects.select_related("template").get(
                    pk=self.session_id
                )
                return fn(session)

        return sync_to_async(run)

    def _load(self, session):
        if session.status not in ON_CALL_STATUSES or session.provider_call_id != self.call_id:
            raise CallGone()
        config = selectors.session_realtime_config(session)
        start = session.started_at or session.connecting_at or timezone.now()
        deadline = start + timedelta(minutes=session.template.max_duration_minutes)
        # Only the first follower of a call starts the interviewer; one that re-attaches (a
        # dropped socket, a restarted worker) must not make it start over.
        started = SessionEvent.objects.filter(
            session=session, kind="interviewer.started", data__call_id=self.call_id
        ).exists()
        return config, deadline, started

    def _mark_live(self, session) -> None:
        if session.provider_call_id == self.call_id:  # not for a call already replaced
            services.session_mark_live(session=session, by="sideband")

    def _browser_state(self, session):
        """Whether the browser reported this call connected; raises CallGone once the session
        has ended or moved to another call."""
        if session.status not in ON_CALL_STATUSES or session.provider_call_id != self.call_id:
            raise CallGone()
        return session.connection_state == "connected"

    def _history(self, session):
        return selectors.session_heard_so_far(
            session, max_items=RESUME_MAX_ITEMS, max_chars=RESUME_MAX_CHARS
        )

    async def db(self, fn):
        return await self._with_session(fn)()

    async def event(self, kind: str, data: dict) -> None:
        await self.db(lambda s: services.session_event_record(session=s, kind=kind, data=data))

    async def note(self, kind: str, data: dict) -> None:
        """A timeline event that must not stop the follower if the database is away."""
        try:
            await self.event(kind, data)
        except DatabaseError:
            logger.warning(
                "sideband: event not recorded", extra={"call": self.call_id, "kind": kind}
            )

    async def _hangup(self) -> None:
        try:
            await self.provider.hangup(self.call_id)
        except ProviderError as exc:
            logger.warning("hangup failed", extra={"call": self.call_id, "error": str(exc)})

    # --- the loop ---

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                self.config, self.deadline, started = await self.db(self._load)
                self.started = self.started or started
            except (CallGone, InterviewSession.DoesNotExist):
                if self.pending_end:  # ended after all (or replaced): the call must not go on
                    await self._hangup()
                return
            except DatabaseError:
                logger.warning("sideband: database unavailable", extra={"call": self.call_id})
                await asyncio.sleep(self.reconnect_delays[-1])
                continue
            if self.pending_end:  # the interview ended but the database did not hear of it
                try:
                    await self.end(self.pending_end)
                except DatabaseError:
                    await asyncio.sleep(self.reconnect_delays[-1])
                    continue
                return
            try:
                sideband = await self.provider.attach(self.call_id)
            except ProviderError as exc:
                failures += 1
                logger.warning(
                    "sideband attach failed", extra={"call": self.call_id, "error": str(exc)}
                )
                await self.note("sideband.attach_failed", {"attempt": failures})
                if failures > len(self.reconnect_delays):
                    return  # the heartbeat job ends the session if the browser is gone too
                await asyncio.sleep(self.reconnect_delays[failures - 1])
                continue
            failures = 0
            await self.note("sideband.attached", {"call_id": self.call_id})
            timer = asyncio.ensure_future(self._enforce_deadline(sideband))
            # The interviewer speaks first, once we are listening and the candidate can hear.
            starter = None if self.started else asyncio.ensure_future(self._start(sideband))
            if starter is not None:
                starter.add_done_callback(self._start_done)
            try:
                async for event in sideband:
                    await self.handle(event, sideband)
            except Exception:
                logger.exception("sideband: connection error", extra={"call": self.call_id})
            finally:
                timer.cancel()
                if starter is not None:
                    starter.cancel()
                with contextlib.suppress(Exception):
                    await sideband.close()
            if self.ending:
                return
            await self.note("sideband.dropped", {})
            await asyncio.sleep(self.reconnect_delays[0])

    async def _start(self, sideband) -> None:
        """Start the interviewer on this call. When the call replaces an earlier one of the
        session, first hand it the conversation so far (at once: it makes no sound, and a
        candidate's "hello?" must not meet an empty conversation), so the interviewer carries
        on where it stopped. Then ask it to speak once the browser reports the call connected,
        or after ``start_wait`` seconds, so a browser whose heartbeats fail still gets its
        interview. If the candidate spoke first, the provider's turn detection has already
        started a response: asking for another would make the interviewer talk twice. The
        database being away delays the start; it does not cancel it."""
        while True:
            try:
                history, assessed = await self.db(self._history)
                break
            except (CallGone, InterviewSession.DoesNotExist):
                return
            except DatabaseError:
                await asyncio.sleep(self.reconnect_delays[0])
        # Not what was said on this very call (a socket that dropped before the start).
        history = [entry[:3] for entry in history if entry[3] not in self.order]
        prefix = f"prior_{self.call_id[-8:]}_"
        for item in resume_items(history, prefix=prefix, assessed=assessed):
            if item["id"] in self.seeded:
                continue  # the call kept it through a dropped socket: once per call
            self.seeded.add(item["id"])  # before sending: its echo must not be recorded
            try:
                await sideband.send({"type": "conversation.item.create", "item": item})
            except Exception:
                self.seeded.discard(item["id"])  # not sent: the next attach sends it
                raise
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.start_wait
        while loop.time() < give_up and not self.responded:
            try:
                if await self.db(self._browser_state):
                    break
            except (CallGone, InterviewSession.DoesNotExist):
                return
            except DatabaseError:
                pass  # keep waiting; the time limit still applies
            await asyncio.sleep(START_POLL_SECONDS)
        by = "candidate" if self.responded else "server"
        if not self.responded:
            await sideband.send({"type": "response.create"})
        self.started = True
        await self.note(
            "interviewer.started",
            {"call_id": self.call_id, "resumed_items": len(history), "by": by},
        )

    def _start_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            # The socket failed under it: the loop re-attaches and starts again.
            logger.error(
                "sideband: starting the interviewer failed",
                extra={"call": self.call_id},
                exc_info=task.exception(),
            )

    async def handle(self, event: dict, sideband) -> None:
        kind = event.get("type", "")
        if kind in ORDERING_EVENTS:
            item_id = event.get("item_id") or (event.get("item") or {}).get("id")
            if item_id:
                self.order.seen(item_id)
                if kind in PLACING_EVENTS and "previous_item_id" in event:
                    self.order.place(item_id, event["previous_item_id"])
        if kind.startswith("response.") or kind == "output_audio_buffer.started":
            self.responded = True
        sound = ("input_audio_buffer.speech_started", "output_audio_buffer.started")
        if kind in sound and not self.live:
            # Sound is flowing: the call is live even if the browser's heartbeat is late.
            await self.db(self._mark_live)
            self.live = True
        if kind in ("input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"):
            self._note_timing(event)
        if kind == "response.output_audio_transcript.done":
            await self._transcript(
                Speaker.INTERVIEWER, event.get("transcript"), event.get("item_id")
            )
        elif kind == "conversation.item.input_audio_transcription.completed":
            await self._transcript(Speaker.CANDIDATE, event.get("transcript"), event.get("item_id"))
        elif kind == "conversation.item.done":
            item = event.get("item") or {}
            if item.get("id") in self.seeded:
                return  # our own copy of an earlier call's conversation
            if item.get("type") == "message" and item.get("role") == "user":
                typed = " ".join(
                    c.get("text", "")
                    for c in item.get("content", [])
                    if c.get("type") == "input_text"
                )
                if typed.strip():
                    await self._transcript(Speaker.CANDIDATE, typed, item.get("id"))
        elif kind == "response.function_call_arguments.done":
            await self._tool(event, sideband)
        elif kind == "response.done":
            await self._continue(event.get("response") or {}, sideband)
        elif kind == "session.updated":
            await self._guard_config(event.get("session") or {}, sideband)
        elif kind == "error":
            # The timeline (which every member of the tenant reads) gets the code; the message
            # can name the platform's own account (an organisation in a rate-limit message),
            # so it goes to the operators' log only.
            error = event.get("error") or {}
            logger.warning(
                "provider error",
                extra={
                    "call": self.call_id,
                    "code": error.get("code"),
                    "error": str(error.get("message"))[:300],
                },
            )
            await self.event(
                "provider.error", {"code": error.get("code"), "type": error.get("type")}
            )

    async def _guard_config(self, reported: dict, sideband) -> None:
        """Put the server's configuration back when a session.updated shows it changed. If the
        provider keeps reporting the same difference after our corrections, it is normalising
        a value rather than being tampered with: stop after a few tries instead of trading
        session.update for session.updated for the rest of the call (a different change is
        corrected again)."""
        changed = drifted(self.config, reported)
        # The same difference means the same reported values, not just the same keys: a new
        # change to a key whose correction was given up on is corrected again.
        drift = json.dumps([changed, guarded_parts(reported)], sort_keys=True, default=str)
        if drift != self.last_drift:
            self.reasserts, self.last_drift = 0, drift
        if not changed:
            return
        if self.reasserts >= MAX_REASSERTS:
            if self.reasserts == MAX_REASSERTS:
                self.reasserts += 1
                logger.warning("session config not accepted", extra={"changed": changed})
                await self.event("session.reassert_stopped", {"changed": changed})
            return
        self.reasserts += 1
        await sideband.send({"type": "session.update", "session": self.config})
        await self.event("session.reasserted", {"changed": changed})

    def _note_timing(self, event: dict) -> None:
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

    async def _transcript(self, speaker, text, item_id) -> None:
        if not text:
            return
        timing = self.speech.get(item_id, {}) if item_id else {}
        # Text can arrive out of conversation order (a candidate's transcription finishing
        # after the interviewer's reply): name the written items that came after this one.
        later = self.order.after(item_id, self.written) if item_id else []
        await self.db(
            lambda s: services.transcript_append(
                session=s,
                speaker=speaker,
                text=text,
                item_id=item_id or "",
                source=TranscriptSource.SERVER,
                started_ms=timing.get("started_ms"),
                ended_ms=timing.get("ended_ms"),
                before_item_ids=later,
            )
        )
        if item_id:
            self.written.append(item_id)

    async def _tool(self, event: dict, sideband) -> None:
        name, call_id = event.get("name"), event.get("call_id")
        try:
            arguments = json.loads(event.get("arguments") or "{}")
        except ValueError:
            arguments = None  # not JSON: no schema accepts it
        problems = tool_argument_errors(self.config, name, arguments)
        if problems:
            # Not acted on: the interviewer is told what was wrong and may call it again. The
            # details can quote the arguments (the candidate's words): timeline, not log.
            logger.warning(
                "tool call refused",
                extra={"call": self.call_id, "tool": name, "problems": len(problems)},
            )
            await self.event(
                "tool.rejected", {"name": name, "call_id": call_id, "errors": problems}
            )
            output = {"error": "invalid arguments", "details": problems}
        elif name == "record_assessment":
            await self.event(
                "assessment",
                {
                    "criterion": str(arguments.get("criterion", ""))[:120],
                    "score": arguments.get("score"),
                    "evidence": str(arguments.get("evidence", ""))[:2000],
                },
            )
            output = {"recorded": True}
        elif name == "end_interview":
            output = {"ended": True}
        else:
            output = {"error": f"unknown tool {name!r}"}
        if not problems:
            await self.event("tool.called", {"name": name, "call_id": call_id})
        await sideband.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call_id,
                    "output": json.dumps(output),
                },
            }
        )
        if name == "end_interview" and not problems:
            await self.end(EndReason.INTERVIEW_COMPLETE, grace=HANGUP_GRACE_SECONDS)
        elif event.get("response_id"):
            # The response that called the tool is still open: a response.create now would
            # be refused (conversation_already_has_active_response). Continue once it is done.
            self.continue_after.add(event["response_id"])
        else:
            await sideband.send({"type": "response.create"})

    async def _continue(self, response: dict, sideband) -> None:
        """A response whose tool calls we answered is done: ask the interviewer to go on,
        unless the response already went on after its tool call (it spoke after it) or the
        candidate cut it short (turn detection then responds to them)."""
        if response.get("id") not in self.continue_after:
            return
        self.continue_after.discard(response["id"])
        output = response.get("output") or []
        if response.get("status") == "cancelled":
            return
        if output and output[-1].get("type") != "function_call":
            return
        await sideband.send({"type": "response.create"})

    async def _enforce_deadline(self, sideband) -> None:
        delay = (self.deadline - timezone.now()).total_seconds() if self.deadline else None
        if delay is None:
            return
        await asyncio.sleep(max(delay, 0))
        try:
            await self.end(EndReason.MAX_DURATION)
        except Exception:
            # Not a silent failure in a forgotten task: drop the socket, and the loop ends the
            # session once it can read it again.
            logger.exception(
                "sideband: ending at the time limit failed", extra={"call": self.call_id}
            )
            await sideband.close()

    async def end(self, reason: str, grace: float = 0) -> None:
        """End the session gracefully and hang up the call. A call the session has already
        replaced (the browser reconnected) is only hung up: it does not end the session. If
        the database fails, the end stays pending and the loop tries again."""
        self.ending, self.pending_end = True, reason

        def end_if_current(session):
            if session.provider_call_id != self.call_id:
                return False
            return services.session_end(session=session, reason=reason)

        try:
            ended = await self.db(end_if_current)
        except Exception:
            self.ending = False
            raise
        self.pending_end = None
        if ended and grace:
            await asyncio.sleep(grace)
        await self._hangup()
