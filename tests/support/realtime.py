"""Local servers and peers for the realtime tests: the simulator and a scriptable fake of the
provider's HTTP API, each on its own event loop thread, and a Python WebRTC peer that plays
the browser."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription

from devtools.simulator.api import Simulator
from devtools.simulator.call import Timing
from devtools.simulator.peer import InterviewerVoice

FAST = Timing(
    greeting_delay=0.1,
    seconds_per_word=0.01,
    max_speech=0.3,
    speech_threshold=300,
    silence_ms=300,
    max_turn_ms=1200,
    answer_timeout=15,
    tool_timeout=5,
    # Longer than the interviewer takes to ask the next question, so the candidate's
    # transcription arrives out of conversation order, as it can with the real service.
    transcription_delay=0.8,
    # Long enough that a client asking to go on before the tool's response is done is
    # refused, as it can be by the real service.
    tool_response_tail=0.2,
)


class LoopThread:
    """An asyncio loop in a daemon thread, for servers the tests talk to."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout=30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def make_event() -> asyncio.Event:
    """An asyncio.Event for a LoopThread's loop (run it there with LoopThread.run)."""
    return asyncio.Event()


class Served:
    def __init__(self, app: web.Application):
        self.thread = LoopThread()
        self.runner = web.AppRunner(app, access_log=None)

        async def start():
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return site._server.sockets[0].getsockname()[1]

        self.port = self.thread.run(start())
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def close(self):
        with contextlib.suppress(Exception):
            self.thread.run(self.runner.cleanup(), timeout=10)
        self.thread.stop()


def serve_simulator(timing: Timing = FAST) -> tuple[Served, Simulator]:
    simulator = Simulator(timing)
    return Served(simulator.app()), simulator


class FakeUpstream:
    """The provider's HTTP API as a test double that records what it received. `mode` picks
    the answer: "ok" (201 after `delay`), an int status with a JSON error (`code`, and
    `headers` such as Retry-After), or "hang"."""

    ANSWER = (
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    )

    def __init__(self, mode="ok", delay=0.0, code="bad_thing", headers=None):
        self.mode, self.delay = mode, delay
        self.code, self.headers = code, dict(headers or {})
        self.requests: list[dict] = []
        self.hangups: list[str] = []
        app = web.Application()
        app.add_routes(
            [
                web.post("/v1/realtime/calls", self.calls),
                web.post("/v1/realtime/calls/{call_id}/hangup", self.hangup),
            ]
        )
        self.served = Served(app)
        self.base_url = self.served.base_url
        self.released = self.served.thread.run(make_event())

    async def calls(self, request):
        parts = {}
        async for part in await request.multipart():
            parts[part.name] = {
                "content_type": part.headers.get("Content-Type"),
                "filename": part.filename,
                "body": await part.read(decode=False),
            }
        self.requests.append({"headers": dict(request.headers), "parts": parts})
        if self.mode == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), 30)
        await asyncio.sleep(self.delay)
        if isinstance(self.mode, int):
            return web.json_response(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": self.code,
                        "message": "Incorrect API key provided: sk-***",
                    }
                },
                status=self.mode,
                headers=self.headers,
            )
        call_id = f"rtc_{len(self.requests):04d}"
        return web.Response(
            status=201,
            text=self.ANSWER,
            content_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/{call_id}"},
        )

    async def hangup(self, request):
        self.hangups.append(request.match_info["call_id"])
        return web.Response(status=200)

    def close(self):
        self.served.thread.loop.call_soon_threadsafe(self.released.set)
        self.served.close()


class Voice(InterviewerVoice):
    """The candidate's microphone: silence, or a loud tone while `speaking` (the simulator's
    own voice track serves)."""


class Peer:
    """A browser stand-in: microphone track, the oai-events channel, and the events it saw."""

    def __init__(self):
        self.pc = RTCPeerConnection()
        self.voice = Voice()
        self.pc.addTrack(self.voice)
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: list[dict] = []
        self.tasks: list = []
        self.opened = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.channel.on("message", lambda m: self.events.append(json.loads(m)))

        @self.pc.on("track")
        def on_track(track):
            async def drain():
                with contextlib.suppress(Exception):
                    while True:
                        await track.recv()

            self.tasks.append(asyncio.ensure_future(drain()))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    def send(self, event: dict) -> None:
        self.channel.send(json.dumps(event))

    def types(self) -> list[str]:
        return [e.get("type") for e in self.events]

    async def wait_for(self, kind: str, count: int = 1, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matches = [e for e in self.events if e.get("type") == kind]
            if len(matches) >= count:
                return matches[count - 1]
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no {kind} #{count}; saw {self.types()}")

    async def close(self):
        await self.pc.close()


def interviewer_turn_events(item_id: str, previous: str | None, text: str) -> list[dict]:
    """The provider's events for one interviewer turn, joining the conversation after
    ``previous``."""
    return [
        {"type": "response.output_item.added", "item": {"id": item_id, "type": "message"}},
        {
            "type": "conversation.item.added",
            "previous_item_id": previous,
            "item": {"id": item_id, "type": "message", "role": "assistant"},
        },
        {"type": "response.output_audio_transcript.done", "item_id": item_id, "transcript": text},
    ]


def early_speech_events(*, greeting: str, next_question: str, answer: str) -> list[dict]:
    """A candidate who speaks before the interviewer's greeting: the speech is detected first
    (item_a), but joins the conversation after the greeting (item_g) when its audio is
    committed; its transcription finishes after the next question (item_q2) was asked."""
    return [
        {"type": "input_audio_buffer.speech_started", "item_id": "item_a", "audio_start_ms": 0},
        *interviewer_turn_events("item_g", None, greeting),
        {"type": "input_audio_buffer.speech_stopped", "item_id": "item_a", "audio_end_ms": 4000},
        {"type": "input_audio_buffer.committed", "item_id": "item_a", "previous_item_id": "item_g"},
        {
            "type": "conversation.item.added",
            "previous_item_id": "item_g",
            "item": {"id": "item_a", "type": "message", "role": "user"},
        },
        *interviewer_turn_events("item_q2", "item_a", next_question),
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "item_a",
            "transcript": answer,
        },
    ]
