"""The load fake's calls and its aiohttp application (see the package's docstring).

- ``POST /load/calls`` ``{"ids": [...]}``: register calls (their conversations begin when a
  follower first attaches).
- ``GET /load/report``: per call, each sideband attachment (opened, closed, the follower's
  port); the send time of each transcript event by item id; counts of what the followers sent.
- ``GET /v1/realtime?call_id=...`` (WebSocket, bearer key): the call's sideband.
- ``POST /v1/realtime/calls/{id}/hangup``: the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from aiohttp import WSMsgType, web

from devtools.simulator import client_events, interviewer
from devtools.simulator.call import SimulatedCall, Timing, new_id

# The events whose text the platform writes to the transcript, stamped as they are sent.
TRANSCRIPT_EVENTS = frozenset(
    {
        "response.output_audio_transcript.done",
        "conversation.item.input_audio_transcription.completed",
    }
)
QUESTION = "Tell me about a time you had to find a bug that only showed up under real load."
PAUSE_SECONDS = 0.5  # between the interviewer's question and the candidate's first word


@dataclass(eq=False)
class LoadCall(SimulatedCall):
    """A simulated call without a peer: its events go to its sidebands only."""

    stamps: dict = field(default_factory=dict)  # item id -> when its transcript was sent
    attachments: list = field(default_factory=list)  # [opened, closed or None, follower port]
    script: asyncio.Task | None = None
    errors: Counter = field(default_factory=Counter)  # error events sent, by code

    async def emit(self, event: dict) -> None:
        if event.get("type") in TRANSCRIPT_EVENTS and self.sidebands:
            self.stamps[event["item_id"]] = time.time()
        elif event.get("type") == "error":
            self.errors[str((event.get("error") or {}).get("code"))] += 1
        await super().emit(event)


class LoadFake:
    def __init__(self, *, turn_seconds: float = 6.0, tool_every: int = 3, timing=None):
        self.turn_seconds = turn_seconds
        self.tool_every = tool_every
        self.timing = timing or Timing(transcription_delay=0.3, tool_timeout=15, answer_timeout=60)
        self.calls: dict[str, LoadCall] = {}
        self.received: Counter = Counter()  # client events from the followers, by type
        self.errors: Counter = Counter()  # error events the fake sent, by code

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.post("/load/calls", self.register),
                web.get("/load/report", self.report),
                web.get("/v1/realtime", self.sideband),
                web.post("/v1/realtime/calls/{call_id}/hangup", self.hangup),
            ]
        )
        app.on_shutdown.append(self._shutdown)
        return app

    async def register(self, request: web.Request) -> web.Response:
        body = await request.json()
        for call_id in body.get("ids") or []:
            if call_id not in self.calls:
                call = LoadCall(
                    id=call_id, session={}, timing=self.timing, pc=None, errors=self.errors
                )
                call.voice = SimpleNamespace(speaking=False)
                self.calls[call_id] = call
        return web.json_response({"calls": len(self.calls)})

    async def report(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "calls": {
                    call_id: {"attachments": call.attachments, "ended": call.ended.is_set()}
                    for call_id, call in self.calls.items()
                },
                "stamps": {k: v for call in self.calls.values() for k, v in call.stamps.items()},
                "received": self.received,
                "errors": self.errors,
            }
        )

    async def hangup(self, request: web.Request) -> web.Response:
        call = self.calls.get(request.match_info["call_id"])
        if call is None:
            return web.json_response({"error": {"code": "not_found"}}, status=404)
        await self._end(call)
        return web.json_response({})

    async def sideband(self, request: web.Request) -> web.StreamResponse:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response({"error": {"code": "invalid_api_key"}}, status=401)
        call = self.calls.get(request.query.get("call_id", ""))
        if call is None or call.ended.is_set():
            return web.json_response({"error": {"code": "call_not_found"}}, status=404)
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        attachment = [time.time(), None, peer[1] if peer else None]
        call.attachments.append(attachment)
        call.sidebands.add(ws)
        try:
            await ws.send_str(
                json.dumps(
                    {
                        "event_id": new_id("event"),
                        "type": "session.created",
                        "session": call.session,
                    }
                )
            )
            if call.script is None:
                call.script = asyncio.ensure_future(self._converse(call))
                call.tasks.append(call.script)
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError):
                    event = json.loads(message.data)
                    if isinstance(event, dict):
                        self.received[str(event.get("type"))] += 1
                        await client_events.receive(call, event, "sideband")
        finally:
            call.sidebands.discard(ws)
            attachment[1] = time.time()
        return ws

    async def _converse(self, call: LoadCall) -> None:
        """Question, answer, and every few turns an assessment, until the call ends."""
        with contextlib.suppress(TimeoutError):  # the follower's response.create begins it
            await asyncio.wait_for(call.response_requested.wait(), 30)
        # Calls out of step with each other (not security: S311 does not apply).
        await asyncio.sleep(random.uniform(0, self.turn_seconds))  # noqa: S311
        turn = 0
        while not call.ended.is_set():
            turn += 1
            first = call.first_response if turn == 1 else ""
            await interviewer.speak(call, QUESTION, first)
            await asyncio.sleep(PAUSE_SECONDS)
            await self._answer(call, max(0.5, self.turn_seconds - 3.0))
            if turn % self.tool_every == 0:
                topics = interviewer.assessed_topics(call.session) or ["Communication"]
                arguments = {
                    "criterion": topics[turn % len(topics)],
                    "score": 1 + turn % 5,
                    "evidence": "Described a race found under load and how it was fixed.",
                }
                await interviewer.call_tool(call, "record_assessment", arguments)

    async def _answer(self, call: LoadCall, seconds: float) -> None:
        """The candidate speaks for ``seconds``; the transcription follows the commit, as the
        simulator's peer reports speech it hears (devtools.simulator.peer)."""
        item_id = new_id("item")
        began = call.timing.silence_ms  # ms of audio before the speech: any steady offset
        await call.emit(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": began,
                "item_id": item_id,
            }
        )
        await asyncio.sleep(seconds)
        await call.emit(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": began + int(seconds * 1000),
                "item_id": item_id,
            }
        )
        previous = call.place(item_id)
        await call.emit(
            {
                "type": "input_audio_buffer.committed",
                "item_id": item_id,
                "previous_item_id": previous,
            }
        )
        await call.emit(
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
        await asyncio.sleep(call.timing.transcription_delay)
        await call.emit(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item_id,
                "content_index": 0,
                "transcript": f"(load answer: {seconds:.1f} seconds of speech)",
            }
        )

    async def _end(self, call: LoadCall) -> None:
        if call.ended.is_set():
            return
        call.ended.set()
        for task in call.tasks:
            task.cancel()
        for ws in list(call.sidebands):
            with contextlib.suppress(Exception):
                await ws.close()

    async def _shutdown(self, app) -> None:
        for call in list(self.calls.values()):
            await self._end(call)
