"""A local stand-in for OpenAI Realtime that speaks the same protocol:

- ``POST /v1/realtime/calls`` (multipart: ``sdp`` + ``session``) -> ``201``, SDP answer,
  ``Location: /v1/realtime/calls/rtc_...``; JSON ``{"error": {...}}`` otherwise.
- ``GET /v1/realtime?call_id=...`` (WebSocket, bearer key): the call's sideband.
- ``POST /v1/realtime/calls/{id}/hangup``.

Each call is a real WebRTC peer (aiortc): it opens the browser's ``oai-events`` data channel,
"speaks" the questions found in the session's instructions (transcript events, and a tone on
the audio track while speaking), detects the candidate's turns from the energy of the incoming
audio (or takes a typed answer sent over the data channel), records an assessment per rubric
topic and calls ``end_interview`` after the last question. A call handed an earlier call's
conversation (``conversation.item.create`` before the first ``response.create``, as the
server's sideband does after a reconnect) carries on from the first unanswered question.
Responses follow the real service's rules: the interview begins at the first
``response.create`` (or when the candidate speaks first, as turn detection would); a
``response.create`` during a response is refused; a typed answer is taken when a reply is
asked for; after ``record_assessment`` the interviewer goes on when asked to.
Every event goes to the data channel and to every sideband connection, with GA event names.

Run it alone: ``python -m devtools.simulator.service --port 8765``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import logging
import math
import os
import re
import secrets
import struct
import time
from array import array
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from av import AudioFrame

logger = logging.getLogger("interviews.simulator")

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms
MAX_SDP_BYTES = 64 * 1024


@dataclass
class Timing:
    """How the simulated interviewer paces itself (environment-tunable for tests/demos)."""

    greeting_delay: float = float(os.environ.get("SIMULATOR_GREETING_DELAY", "0.8"))
    seconds_per_word: float = float(os.environ.get("SIMULATOR_SECONDS_PER_WORD", "0.12"))
    max_speech: float = float(os.environ.get("SIMULATOR_MAX_SPEECH", "3.0"))
    speech_threshold: float = float(os.environ.get("SIMULATOR_SPEECH_THRESHOLD", "300"))
    silence_ms: int = int(os.environ.get("SIMULATOR_SILENCE_MS", "800"))
    max_turn_ms: int = int(os.environ.get("SIMULATOR_MAX_TURN_MS", "6000"))
    answer_timeout: float = float(os.environ.get("SIMULATOR_ANSWER_TIMEOUT", "60"))
    tool_timeout: float = float(os.environ.get("SIMULATOR_TOOL_TIMEOUT", "10"))
    transcription_delay: float = float(os.environ.get("SIMULATOR_TRANSCRIPTION_DELAY", "0.5"))
    # Text is generated faster than it is spoken: the share of the speaking time it takes.
    generation_ratio: float = float(os.environ.get("SIMULATOR_GENERATION_RATIO", "0.25"))
    # From a tool call's arguments to the end of its response.
    tool_response_tail: float = float(os.environ.get("SIMULATOR_TOOL_RESPONSE_TAIL", "0.05"))


def _tone_frame_bytes() -> bytes:
    return b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / SAMPLE_RATE)))
        for i in range(FRAME_SAMPLES)
    )


_TONE = _tone_frame_bytes()
_SILENCE = bytes(FRAME_SAMPLES * 2)


class InterviewerVoice(MediaStreamTrack):
    """The interviewer's audio: a tone while it speaks, silence otherwise, in real time."""

    kind = "audio"

    def __init__(self):
        super().__init__()
        self.speaking = False
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(_TONE if self.speaking else _SILENCE)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += FRAME_SAMPLES
        return frame


def _rms(frame: AudioFrame) -> float:
    samples = array("h", bytes(frame.planes[0]))
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def _questions(instructions: str) -> list[str]:
    block = instructions.split("Questions:", 1)[-1]
    block = re.split(r"\n\s*\n", block.strip(), maxsplit=1)[0]
    return [m.group(1).strip() for m in re.finditer(r"^\s*\d+\.\s+(.+)$", block, re.M)]


def _topics(session: dict) -> list[str]:
    """The rubric criteria to assess: those the record_assessment tool allows, as a model
    would read them, or failing that the topics listed in the instructions."""
    for tool in session.get("tools") or []:
        if tool.get("name") == "record_assessment":
            criterion = (tool.get("parameters") or {}).get("properties", {}).get("criterion", {})
            if criterion.get("enum"):
                return list(criterion["enum"])
    instructions = session.get("instructions", "")
    if "Topics" not in instructions:
        return []
    block = instructions.split("Topics", 1)[1].split("\n", 1)[-1]
    block = re.split(r"\n\s*\n", block.strip(), maxsplit=1)[0]
    return [m.group(1).strip() for m in re.finditer(r"^\s*-\s+([^:\n]+)", block, re.M)]


@dataclass
class Answer:
    text: str
    item_id: str
    typed: bool = False
    began: float = 0.0  # when the speech began (monotonic): it answers what was asked before


# What the provider fills in when a session leaves it out: its session.created and
# session.updated report these too, as OpenAI's do, so the sideband must not take them for
# a change.
SESSION_DEFAULTS = {
    "object": "realtime.session",
    "max_output_tokens": "inf",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "turn_detection": {"create_response": True, "interrupt_response": True},
            "transcription": {"prompt": ""},
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "speed": 1.0},
    },
}


def _with_defaults(session: dict, defaults: dict = SESSION_DEFAULTS) -> dict:
    merged = dict(session)
    for key, value in defaults.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = _with_defaults(merged[key], value)
    return merged


# Content a client may give each role's messages (GA), and the longest item id.
CONTENT_TYPES = {
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text",),
    "system": ("input_text",),
}
ROLES = tuple(CONTENT_TYPES)
MAX_ITEM_ID = 32


@dataclass
class SimulatedCall:
    id: str
    session: dict
    timing: Timing
    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[]))
    )
    voice: InterviewerVoice = field(default_factory=InterviewerVoice)
    channel: object = None
    sidebands: set = field(default_factory=set)
    answers: asyncio.Queue = field(default_factory=asyncio.Queue)
    tool_outputs: dict = field(default_factory=dict)
    continued: asyncio.Event = field(default_factory=asyncio.Event)  # asked to go on after a tool
    channel_open: asyncio.Event = field(default_factory=asyncio.Event)
    response_requested: asyncio.Event = field(default_factory=asyncio.Event)
    first_response: str = ""  # the greeting's response, created when the interview begins
    responding: bool = False  # a response is in progress (requested, or being spoken)
    owed: int = 0  # tool outputs whose response.create is expected
    typed: list = field(default_factory=list)  # typed answers not yet responded to
    last_line: str = ""
    conversation: list = field(default_factory=list)  # (role, text) of created messages
    item_ids: set = field(default_factory=set)
    items: list = field(default_factory=list)  # the conversation's item ids, in order
    asked_at: float = 0.0  # when the interviewer began asking the current question
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list = field(default_factory=list)

    # --- events out ---

    async def emit(self, event: dict) -> None:
        event = {"event_id": _new_id("event"), **event}
        text = json.dumps(event)
        if self.channel is not None and getattr(self.channel, "readyState", "") == "open":
            with contextlib.suppress(Exception):
                self.channel.send(text)
        for ws in list(self.sidebands):
            try:
                await ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self.sidebands.discard(ws)

    def place(self, item_id: str, after: str | None = None) -> str | None:
        """Put an item in the conversation, at the end or after ``after`` ("root": first),
        and return the id of the item before it (None: first), as the real service reports
        it in ``previous_item_id``."""
        if after == "root":
            index = 0
        elif after in self.items:
            index = self.items.index(after) + 1
        else:
            index = len(self.items)
        self.items.insert(index, item_id)
        return self.items[index - 1] if index else None

    # --- events in (from the data channel or a sideband) ---

    async def receive(self, event: dict, source: str) -> None:
        kind = event.get("type")
        if kind == "session.update":
            update = event.get("session") or {}
            self.session = _with_defaults({**self.session, **update})
            await self.emit({"type": "session.updated", "session": self.session})
        elif kind == "conversation.item.create":
            item = event.get("item") or {}
            problem = self._invalid_item(item)
            if problem:
                await self.emit(
                    {
                        "type": "error",
                        "error": {
                            "type": "invalid_request_error",
                            "code": "invalid_value",
                            "message": problem,
                            "param": "item",
                            "event_id": event.get("event_id"),
                        },
                    }
                )
                return
            if item.get("id"):
                self.item_ids.add(item["id"])
            if item.get("type") == "function_call_output":
                item_id = item.get("id") or _new_id("item")
                previous = self.place(item_id, event.get("previous_item_id"))
                done = {**item, "id": item_id, "object": "realtime.item"}
                for kind in ("conversation.item.added", "conversation.item.done"):
                    await self.emit({"type": kind, "previous_item_id": previous, "item": done})
                self.owed += 1
                future = self.tool_outputs.get(item.get("call_id"))
                if future is not None and not future.done():
                    future.set_result(item.get("output", ""))
            elif item.get("type") == "message" and item.get("role") in ROLES:
                text = " ".join(
                    c.get("text", "")
                    for c in item.get("content", [])
                    if c.get("type") in ("input_text", "output_text")
                ).strip()
                if text:
                    item_id = item.get("id") or _new_id("item")
                    previous = self.place(item_id, event.get("previous_item_id"))
                    done = {**item, "id": item_id, "object": "realtime.item"}
                    for kind in ("conversation.item.added", "conversation.item.done"):
                        await self.emit({"type": kind, "previous_item_id": previous, "item": done})
                    self.conversation.append((item["role"], text))
                    # A user message once the interview runs is a typed answer, answered
                    # at the next response.create; before it starts, the server is handing
                    # over an earlier call's conversation.
                    if item["role"] == "user" and self.response_requested.is_set():
                        self.typed.append(Answer(text, item_id))
        elif kind == "response.create":
            await self._response_create(event)
        else:
            logger.debug("simulator: ignoring %s from %s", kind, source)

    async def _response_create(self, event: dict) -> None:
        """As the real service: the first response.create begins the interview; one while
        a response is in progress is refused; one that follows a tool output lets the
        interviewer go on, one that follows a typed answer has the answer taken, and any
        other makes the model answer again (here: it says its last line again)."""
        if not self.response_requested.is_set():
            await self.begin()
        elif self.responding:
            await self.emit(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "code": "conversation_already_has_active_response",
                        "message": "Conversation already has an active response in progress.",
                        "event_id": event.get("event_id"),
                    },
                }
            )
        elif self.owed:
            self.owed -= 1
            self.continued.set()
        elif self.typed:
            text = " ".join(answer.text for answer in self.typed)
            await self.answers.put(Answer(text, self.typed[-1].item_id, typed=True))
            self.typed.clear()
        elif self.last_line:
            self.tasks.append(asyncio.ensure_future(self.speak(self.last_line)))

    async def begin(self) -> None:
        """The interviewer's first response is created (it speaks after greeting_delay)."""
        if self.response_requested.is_set():
            return
        self.response_requested.set()
        self.responding, self.first_response = True, _new_id("resp")
        await self.emit(
            {
                "type": "response.created",
                "response": {"id": self.first_response, "status": "in_progress"},
            }
        )

    def _invalid_item(self, item: dict) -> str:
        """What the real service would refuse in a conversation.item.create (the parts this
        platform uses): an id over 32 characters or already in the conversation, and content
        a role cannot carry (assistant messages take text, not audio, from a client)."""
        item_id = item.get("id")
        if item_id and (len(item_id) > MAX_ITEM_ID or item_id in self.item_ids):
            return f"Invalid item id {item_id!r}: too long or already used."
        if item.get("type") == "message":
            allowed = CONTENT_TYPES.get(item.get("role"))
            if allowed is None:
                return f"Invalid role {item.get('role')!r}."
            for part in item.get("content") or []:
                if part.get("type") not in allowed:
                    return f"Invalid content type {part.get('type')!r} for a {item['role']} item."
        return ""

    # --- the interviewer ---

    async def speak(self, text: str, response_id: str = "") -> None:
        """One response that says `text`; `response_id` names one already created. As with
        the real service over WebRTC, the text is generated faster than it is spoken: the
        response is done (response.done) while its audio still plays, and
        output_audio_buffer.stopped marks the end of the sound."""
        loop = asyncio.get_running_loop()
        self.responding, self.last_line = True, text
        item_id = _new_id("item")
        if not response_id:
            response_id = _new_id("resp")
            await self.emit(
                {
                    "type": "response.created",
                    "response": {"id": response_id, "status": "in_progress"},
                }
            )
        item = {"id": item_id, "type": "message", "role": "assistant", "content": []}
        await self.emit(
            {"type": "response.output_item.added", "response_id": response_id, "item": item}
        )
        await self.emit(
            {
                "type": "conversation.item.added",
                "previous_item_id": self.place(item_id),
                "item": item,
            }
        )
        await self.emit({"type": "output_audio_buffer.started", "response_id": response_id})
        self.voice.speaking = True
        words = text.split()
        per_word = min(self.timing.seconds_per_word, self.timing.max_speech / max(len(words), 1))
        sound_ends = loop.time() + per_word * len(words)
        for word in words:
            await self.emit(
                {
                    "type": "response.output_audio_transcript.delta",
                    "response_id": response_id,
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": word + " ",
                }
            )
            await asyncio.sleep(per_word * self.timing.generation_ratio)
        await self.emit(
            {
                "type": "response.output_audio_transcript.done",
                "response_id": response_id,
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "transcript": text,
            }
        )
        done = {
            **item,
            "status": "completed",
            "content": [{"type": "output_audio", "transcript": text}],
        }
        await self._close_response(response_id, done)
        await asyncio.sleep(max(0.0, sound_ends - loop.time()))
        self.voice.speaking = False
        await self.emit({"type": "output_audio_buffer.stopped", "response_id": response_id})

    async def _close_response(self, response_id: str, item: dict) -> None:
        """The response's one output item is done, then the response (it stops being in
        progress: a new response.create is accepted from here)."""
        await self.emit(
            {"type": "response.output_item.done", "response_id": response_id, "item": item}
        )
        self.responding = False
        await self.emit(
            {
                "type": "response.done",
                "response": {"id": response_id, "status": "completed", "output": [item]},
            }
        )

    async def call_tool(self, name: str, arguments: dict, *, then_continue=True) -> str | None:
        """A response that only calls a tool, as the real service sends it; the output is
        awaited, then (unless the tool ends the call) the client's response.create that lets
        the interviewer go on. A response.create the service refused leaves the interviewer
        waiting, as it would; after ``tool_timeout`` the script goes on anyway, so a broken
        client shows up as errors rather than as a hung test."""
        response_id, call_id, item_id = _new_id("resp"), _new_id("call"), _new_id("item")
        future = asyncio.get_running_loop().create_future()
        self.tool_outputs[call_id] = future
        self.continued.clear()
        self.responding = True
        await self.emit(
            {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}}
        )
        item = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "call_id": call_id,
            "name": name,
            "arguments": "",
        }
        await self.emit(
            {"type": "response.output_item.added", "response_id": response_id, "item": item}
        )
        await self.emit(
            {
                "type": "conversation.item.added",
                "previous_item_id": self.place(item_id),
                "item": item,
            }
        )
        await self.emit(
            {
                "type": "response.function_call_arguments.done",
                "response_id": response_id,
                "item_id": item_id,
                "output_index": 0,
                "call_id": call_id,
                "name": name,
                "arguments": json.dumps(arguments),
            }
        )
        # The rest of the response (closing the item) takes a moment: a client that asks for
        # the next response before response.done is refused.
        await asyncio.sleep(self.timing.tool_response_tail)
        done = {**item, "status": "completed", "arguments": json.dumps(arguments)}
        await self._close_response(response_id, done)
        try:
            output = await asyncio.wait_for(future, self.timing.tool_timeout)
        except TimeoutError:
            return None
        if then_continue:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.continued.wait(), self.timing.tool_timeout)
        return output

    async def hear(self, track) -> None:
        """Turn detection from the energy of the candidate's audio. As the real service's,
        its times are positions in the audio received on the call (audio_start_ms includes
        the prefix padding before the speech, audio_end_ms the silence after it)."""
        speaking_since = last_loud = None
        item_id = None
        received_ms = 0.0  # audio received so far
        while True:
            try:
                frame = await track.recv()
            except Exception:  # the track ended with the call
                return
            now_ms = received_ms
            received_ms += 1000 * frame.samples / (frame.sample_rate or SAMPLE_RATE)
            loud = _rms(frame) >= self.timing.speech_threshold
            if loud:
                last_loud = now_ms
                if speaking_since is None:
                    speaking_since, item_id = now_ms, _new_id("item")
                    began = time.monotonic()
                    await self.emit(
                        {
                            "type": "input_audio_buffer.speech_started",
                            "audio_start_ms": int(max(0, now_ms - self._prefix_padding_ms())),
                            "item_id": item_id,
                        }
                    )
            if speaking_since is not None and (
                now_ms - last_loud >= self.timing.silence_ms
                or now_ms - speaking_since >= self.timing.max_turn_ms
            ):
                seconds = (last_loud - speaking_since) / 1000
                await self.emit(
                    {
                        "type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": int(received_ms),
                        "item_id": item_id,
                    }
                )
                # The user item joins the conversation when its audio is committed, after
                # whatever was added while the candidate spoke (the interviewer's greeting,
                # for a "hello?" that began before it).
                previous = self.place(item_id)
                await self.emit(
                    {
                        "type": "input_audio_buffer.committed",
                        "item_id": item_id,
                        "previous_item_id": previous,
                    }
                )
                await self.emit(
                    {
                        "type": "conversation.item.added",
                        "previous_item_id": previous,
                        "item": {
                            "id": item_id,
                            "type": "message",
                            "role": "user",
                            "content": [{"type": "input_audio", "transcript": None}],
                        },
                    }
                )
                if not self.response_requested.is_set() and self._creates_responses():
                    # Spoken to before anyone asked the interviewer to begin: like the real
                    # service's turn detection, it responds on its own.
                    await self.begin()
                transcript = f"(simulated answer: {seconds:.1f} seconds of speech)"
                # As with the real service, the reply does not wait for the transcription,
                # which may arrive after the interviewer has moved on.
                self.tasks.append(asyncio.ensure_future(self._transcribe(item_id, transcript)))
                await self.answers.put(Answer(transcript, item_id, began=began))
                speaking_since = last_loud = None

    def _prefix_padding_ms(self) -> int:
        detection = ((self.session.get("audio") or {}).get("input") or {}).get("turn_detection")
        padding = (detection or {}).get("prefix_padding_ms", 300)
        return padding if isinstance(padding, int) else 300

    def _creates_responses(self) -> bool:
        detection = ((self.session.get("audio") or {}).get("input") or {}).get("turn_detection")
        return bool(detection) and detection.get("create_response", True) is not False

    async def _transcribe(self, item_id: str, transcript: str) -> None:
        await asyncio.sleep(self.timing.transcription_delay)
        await self.emit(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": transcript,
            }
        )

    async def run(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.channel_open.wait(), 15)
        await self.emit({"type": "session.created", "session": self.session})
        # The server's sideband starts the interview with response.create once attached (or
        # the candidate's "hello?" does); if nobody asks within a while, begin anyway.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.response_requested.wait(), 10)
        await self.begin()
        await asyncio.sleep(self.timing.greeting_delay)
        instructions = self.session.get("instructions", "")
        questions = _questions(instructions) or ["Tell me about yourself."]
        first, resumed = self._resume_point(questions)
        for number, question in enumerate(questions[first:], start=first):
            if number > first:
                opening = "Thank you. "
            elif resumed:
                opening = "Welcome back. "
            else:
                opening = "Hello, thank you for joining. "
            self.asked_at = time.monotonic()
            await self.speak(opening + question, response_id=self.first_response)
            self.first_response = ""
            self._drain_answers()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answer(), self.timing.answer_timeout)
        for topic in _topics(self.session):
            await self.call_tool(
                "record_assessment",
                {
                    "criterion": topic,
                    "score": 3,
                    "evidence": "Simulated assessment: the simulator does not understand speech.",
                },
            )
        await self.speak(
            "That was my last question. Thank you for your time; a person at "
            "the company will review your interview."
        )
        await self.call_tool("end_interview", {"reason": "completed"}, then_continue=False)

    def _resume_point(self, questions: list[str]) -> tuple[int, bool]:
        """Where a conversation handed over at the start (a replacement call) leaves off:
        the index of the first question without an answer, and whether there was one."""
        asked, answered = -1, False
        for role, text in self.conversation:
            if role == "assistant":
                for index, question in enumerate(questions):
                    if question in text and index > asked:
                        asked, answered = index, False
            elif role == "user" and asked >= 0:
                answered = True
        if asked < 0:
            return 0, False
        return (asked + 1 if answered else asked), True

    async def _answer(self) -> Answer:
        """The candidate's answer to the question just asked: a typed answer, or speech that
        began once the question was being asked. Sound that began before it (a "hello?" before
        the first question, still going as the interviewer spoke) is a turn of its own in the
        conversation, not the answer."""
        while True:
            answer = await self.answers.get()
            if answer.typed or answer.began >= self.asked_at:
                return answer

    def _drain_answers(self) -> None:
        # Sound while the interviewer was still talking does not answer the new question; a
        # typed answer the interviewer was asked to respond to does.
        kept = []
        while not self.answers.empty():
            answer = self.answers.get_nowait()
            if answer.typed:
                kept.append(answer)
        for answer in kept:
            self.answers.put_nowait(answer)

    async def close(self) -> None:
        if self.ended.is_set():
            return
        self.ended.set()
        for task in self.tasks:
            task.cancel()
        for ws in list(self.sidebands):
            with contextlib.suppress(Exception):
                await ws.close()
        await self.pc.close()


def _error(status: int, code: str, message: str, kind: str = "invalid_request_error"):
    return web.json_response(
        {"error": {"type": kind, "code": code, "message": message, "param": None}},
        status=status,
    )


def _authorized(request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and len(header) > len("Bearer ")


class Simulator:
    def __init__(self, timing: Timing | None = None):
        self.timing = timing or Timing()
        self.calls: dict[str, SimulatedCall] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_SDP_BYTES * 4)
        app.add_routes(
            [
                web.post("/v1/realtime/calls", self.create_call),
                web.post("/v1/realtime/calls/{call_id}/hangup", self.hangup),
                web.get("/v1/realtime", self.sideband),
            ]
        )
        app.on_shutdown.append(self._shutdown)
        return app

    async def _shutdown(self, app) -> None:
        for call in list(self.calls.values()):
            await call.close()

    async def create_call(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _error(401, "invalid_api_key", "Missing bearer API key.", "authentication_error")
        if not request.content_type.startswith("multipart/"):
            return _error(400, "invalid_content_type", "Expected multipart/form-data.")
        parts = {}
        reader = await request.multipart()
        async for part in reader:
            parts[part.name] = (await part.read(decode=False)).decode("utf-8", "replace")
        offer, session_json = parts.get("sdp", ""), parts.get("session")
        if not offer.startswith("v=0"):
            return _error(400, "invalid_offer", "The sdp part must be an SDP offer.")
        if session_json is None:
            return _error(400, "missing_session", "The session part is required.")
        try:
            session = json.loads(session_json)
        except ValueError:
            return _error(400, "invalid_json", "The session part must be JSON.")
        if session.get("type") != "realtime" or not session.get("model"):
            return _error(400, "invalid_session", "session.type must be realtime, with a model.")

        call = SimulatedCall(id=_new_id("rtc"), session=_with_defaults(session), timing=self.timing)
        call.session.setdefault("id", _new_id("sess"))

        @call.pc.on("datachannel")
        def on_datachannel(channel):
            if channel.label != "oai-events":
                return
            call.channel = channel

            @channel.on("message")
            def on_message(message):
                with contextlib.suppress(ValueError):
                    event = json.loads(message)
                    if isinstance(event, dict):
                        call.tasks.append(asyncio.ensure_future(call.receive(event, "datachannel")))

            if channel.readyState == "open":
                call.channel_open.set()
            channel.on("open", call.channel_open.set)

        @call.pc.on("track")
        def on_track(track):
            if track.kind == "audio":
                call.tasks.append(asyncio.ensure_future(call.hear(track)))

        @call.pc.on("connectionstatechange")
        async def on_state():
            if call.pc.connectionState in {"failed", "closed"}:
                await self._end(call)

        try:
            await call.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            call.pc.addTrack(call.voice)
            await call.pc.setLocalDescription(await call.pc.createAnswer())
        except Exception as exc:  # aiortc rejects SDP it cannot use
            await call.pc.close()
            return _error(400, "invalid_offer", f"Could not use the offer: {exc}")
        self.calls[call.id] = call
        call.tasks.append(asyncio.ensure_future(self._run(call)))
        return web.Response(
            status=201,
            text=call.pc.localDescription.sdp,
            content_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/{call.id}"},
        )

    async def _run(self, call: SimulatedCall) -> None:
        try:
            await call.run()
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("simulator: interview script failed")
            await call.emit(
                {
                    "type": "error",
                    "error": {
                        "type": "server_error",
                        "code": "simulator_error",
                        "message": "The simulator failed.",
                    },
                }
            )

    async def _end(self, call: SimulatedCall) -> None:
        self.calls.pop(call.id, None)
        await call.close()

    async def hangup(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _error(401, "invalid_api_key", "Missing bearer API key.", "authentication_error")
        call = self.calls.get(request.match_info["call_id"])
        if call is None:
            return _error(404, "call_not_found", "No such call.")
        await self._end(call)
        return web.Response(status=200)

    async def sideband(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _error(401, "invalid_api_key", "Missing bearer API key.", "authentication_error")
        call = self.calls.get(request.query.get("call_id", ""))
        if call is None:
            return _error(404, "call_not_found", "No such call.")
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        call.sidebands.add(ws)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    with contextlib.suppress(ValueError):
                        event = json.loads(message.data)
                        if isinstance(event, dict):
                            await call.receive(event, "sideband")
        finally:
            call.sidebands.discard(ws)
        return ws


async def serve(host: str, port: int, timing: Timing | None = None) -> web.AppRunner:
    runner = web.AppRunner(Simulator(timing).app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO,
        format='{"level": "%(levelname)s", "logger": "%(name)s", "message": "%(message)s"}',
    )

    async def forever():
        await serve(args.host, args.port)
        logger.info("simulator listening on %s:%s", args.host, args.port)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(forever())


if __name__ == "__main__":
    main()
