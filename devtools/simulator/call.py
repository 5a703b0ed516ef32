"""A simulated call's state, shared by its parts (the WebRTC peer, the scripted interviewer,
the client events it takes and its sidebands), with the interviewer's pacing and the session
defaults the real service reports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiortc import RTCConfiguration, RTCPeerConnection

if TYPE_CHECKING:
    from devtools.simulator.peer import InterviewerVoice


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


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


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


def with_defaults(session: dict, defaults: dict = SESSION_DEFAULTS) -> dict:
    merged = dict(session)
    for key, value in defaults.items():
        if key not in merged:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = with_defaults(merged[key], value)
    return merged


@dataclass
class Answer:
    text: str
    item_id: str
    typed: bool = False
    began: float = 0.0  # when the speech began (monotonic): it answers what was asked before


@dataclass
class SimulatedCall:
    id: str
    session: dict
    timing: Timing
    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[]))
    )
    voice: InterviewerVoice | None = None  # the peer's audio track, added with the answer
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
    # What was said on the call, as its transcript events told it: (speaker, item id, text),
    # speaker "interviewer" or "candidate" (the record a fault-injection run is checked by).
    said: list = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list = field(default_factory=list)

    async def emit(self, event: dict) -> None:
        """Send a server event to the data channel and to every sideband."""
        event = {"event_id": new_id("event"), **event}
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
