"""The simulator, run inside the harness so that the checks read its own record of each call
(``SimulatedCall.said``): every call it answered is kept, and its Responses API (the summaries)
can be made slow, so that a fault can land while a summary is being written."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from aiohttp import web

from devtools.simulator.api import Simulator
from devtools.simulator.call import Timing

# Fast, as the realtime tests' simulator: a two-question interview takes seconds.
FAST = Timing(
    greeting_delay=0.2,
    seconds_per_word=0.02,
    max_speech=0.8,
    speech_threshold=300,
    silence_ms=400,
    max_turn_ms=3000,
    answer_timeout=15,
    tool_timeout=5,
    transcription_delay=0.5,
    tool_response_tail=0.05,
)


class RecordingSimulator(Simulator):
    def __init__(self, timing: Timing = FAST, summary_seconds: float = 0.0):
        super().__init__(timing)
        self.summary_seconds = summary_seconds
        self.history: list = []  # every call, in the order they were made
        self.summary_requests = 0
        self.summary_arrived = threading.Event()  # cleared by whoever waits for one

    async def create_call(self, request: web.Request) -> web.StreamResponse:
        before = set(self.calls)
        answer = await super().create_call(request)
        self.history += [call for call_id, call in self.calls.items() if call_id not in before]
        return answer

    async def create_response(self, request: web.Request) -> web.StreamResponse:
        self.summary_requests += 1
        self.summary_arrived.set()
        await asyncio.sleep(self.summary_seconds)
        return await super().create_response(request)


class LoopThread:
    """An asyncio loop in a daemon thread: the simulator and the candidates run on it."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def submit(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine, timeout: float = 30):
        return self.submit(coroutine).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class ServedSimulator:
    def __init__(self, simulator: RecordingSimulator, thread: LoopThread):
        self.simulator = simulator
        self.thread = thread
        self.runner = web.AppRunner(simulator.app(), access_log=None)

        async def start():
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return site._server.sockets[0].getsockname()[1]

        self.port = thread.run(start())
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the run is over either way
            self.thread.run(self.runner.cleanup(), timeout=10)
