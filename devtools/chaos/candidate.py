"""A headless candidate: what the interview page does (static/js/interview/main.js,
reconnecting.js, connection.js, transcript.js), in Python on aiortc rather than in a browser.
It is much lighter than a Chromium per run and drives the same HTTP API the page uses, with the
same session token: ``start``, the SDP offer through the platform's proxy, the ``oai-events``
data channel, heartbeats, the browser's copy of the transcript posted in batches, and a new
call with backoff when the call or the channel is lost or the web process is away. Its
microphone makes sound (an answer) once the interviewer has finished asking a question, which
the simulator's turn detection hears; it stops when the session has ended."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from devtools.simulator.peer import InterviewerVoice

logger = logging.getLogger("devtools.chaos")

RECONNECT_DELAYS = (1, 2, 4, 8, 15)
TRANSCRIPT_BATCH = 50


class Microphone(InterviewerVoice):
    """The candidate's microphone: silence, or a loud tone while ``speaking``."""


class ApiError(Exception):
    def __init__(self, status: int, code: str = ""):
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


class Candidate:
    """One candidate in one session, until the session ends (or ``give_up_after`` seconds)."""

    def __init__(
        self,
        base_url: str,
        session_id: str,
        token: str,
        *,
        heartbeat_seconds: float = 2.0,
        flush_seconds: float = 1.0,
        answer_seconds: float = 0.8,
    ):
        self.api = f"{base_url}/api/candidate/sessions/{session_id}/"
        self.token = token
        self.heartbeat_seconds = heartbeat_seconds
        self.flush_seconds = flush_seconds
        self.answer_seconds = answer_seconds
        self.http: aiohttp.ClientSession | None = None
        self.pc: RTCPeerConnection | None = None
        self.channel = None
        self.microphone: Microphone | None = None
        self.ended = asyncio.Event()
        self.lost = asyncio.Event()
        self.opened = asyncio.Event()
        self.calls = 0  # offers answered
        self.reconnects = 0
        self.seen: set[str] = set()
        self.pending: list[dict] = []
        self.speech: dict[str, dict] = {}
        self.order: list[str] = []  # this call's items in conversation order
        self.lines_heard = 0  # the interviewer's finished lines (for faults to time themselves)
        self.heard = asyncio.Condition()
        self.last_question = ""
        self.errors: list[str] = []
        self.tasks: list[asyncio.Task] = []

    # --- the session API ------------------------------------------------------------------

    async def request(self, path: str, *, method="POST", body=None, sdp: str | None = None):
        headers = {"Authorization": f"Bearer {self.token}"}
        if sdp is not None:
            data, headers["Content-Type"] = sdp.encode(), "application/sdp"
        elif body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        else:
            data = None
        timeout = aiohttp.ClientTimeout(total=20)
        async with self.http.request(
            method, self.api + path, data=data, headers=headers, timeout=timeout
        ) as response:
            if response.status >= 400:
                code = ""
                with contextlib.suppress(Exception):
                    code = (await response.json())["error"]["code"]
                raise ApiError(response.status, code)
            if "json" in response.headers.get("Content-Type", ""):
                return await response.json()
            return await response.text()

    def apply_status(self, status) -> None:
        if isinstance(status, dict) and status.get("ended"):
            self.ended.set()

    # --- the run ----------------------------------------------------------------------------

    async def run(self, give_up_after: float = 180) -> None:
        async with aiohttp.ClientSession() as http:
            self.http = http
            try:
                await asyncio.wait_for(self._run(), give_up_after)
            except TimeoutError:
                self.errors.append(f"the session had not ended after {give_up_after:.0f} s")
            finally:
                for task in self.tasks:
                    task.cancel()
                await asyncio.gather(*self.tasks, return_exceptions=True)
                await self._close_call()
                await self._flush_all()

    async def _run(self) -> None:
        while True:
            try:
                self.apply_status(await self.request("start/", body={"client_info": {}}))
                break
            except ApiError as exc:
                if exc.status == 409:
                    return
                if exc.status < 500:
                    self.errors.append(f"start refused: {exc}")
                    return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(1)
        self.tasks += [
            asyncio.ensure_future(self._every(self.heartbeat_seconds, self.heartbeat)),
            asyncio.ensure_future(self._every(self.flush_seconds, self.flush)),
        ]
        attempt = 0
        while not self.ended.is_set():
            self.lost.clear()
            try:
                await self._connect()
                attempt = 0
            except ApiError as exc:
                if exc.status == 409:
                    self.ended.set()
                    break
                if exc.status in (401, 403, 404):
                    self.errors.append(f"offer refused: {exc}")
                    return
                attempt += 1
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                logger.info("chaos candidate: could not connect (%s)", exc)
                attempt += 1
            else:
                await self._wait_either(self.lost, self.ended)
                if self.ended.is_set():
                    break
                # Lost: the interviewer may have ended the interview (that closes the call too).
                with contextlib.suppress(ApiError, aiohttp.ClientError, TimeoutError):
                    self.apply_status(await self.request("status/", method="GET"))
                if self.ended.is_set():
                    break
                attempt += 1
            await self._close_call()
            if self.ended.is_set():
                break
            self.reconnects += 1
            delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS)) - 1] if attempt else 1
            await self._sleep_unless_ended(delay)

    async def _every(self, seconds: float, action) -> None:
        while True:
            await asyncio.sleep(seconds)
            with contextlib.suppress(Exception):
                await action()

    async def _sleep_unless_ended(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ended.wait(), seconds)

    @staticmethod
    async def _wait_either(*events: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(event.wait()) for event in events]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()

    # --- one call -------------------------------------------------------------------------

    async def _connect(self) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc, self.microphone = pc, Microphone()
        self.order = []
        self.opened.clear()
        pc.addTrack(self.microphone)
        channel = pc.createDataChannel("oai-events")
        self.channel = channel

        def opened():
            self.opened.set()
            self.tasks.append(asyncio.ensure_future(self._connected_heartbeat()))

        def closed():
            if self.pc is pc:
                self.lost.set()

        channel.on("open", opened)
        channel.on("close", closed)
        channel.on("message", self._on_message)

        @pc.on("connectionstatechange")
        def on_state():
            if pc.connectionState in ("failed", "closed") and self.pc is pc:
                self.lost.set()

        @pc.on("track")
        def on_track(track):
            async def drain():
                with contextlib.suppress(Exception):
                    while True:
                        await track.recv()

            self.tasks.append(asyncio.ensure_future(drain()))

        await pc.setLocalDescription(await pc.createOffer())
        answer = await self.request("sdp/", sdp=pc.localDescription.sdp)
        if self.pc is not pc:
            return
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        self.calls += 1
        try:
            await asyncio.wait_for(self.opened.wait(), 15)
        except TimeoutError:
            self.lost.set()

    async def _connected_heartbeat(self) -> None:
        with contextlib.suppress(Exception):
            self.apply_status(
                await self.request("heartbeat/", body={"connection_state": "connected"})
            )

    async def _close_call(self) -> None:
        pc, self.pc, self.channel = self.pc, None, None
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()

    async def heartbeat(self) -> None:
        state = self.pc.connectionState if self.pc is not None else "new"
        try:
            self.apply_status(await self.request("heartbeat/", body={"connection_state": state}))
        except ApiError as exc:
            if exc.status == 409:
                self.ended.set()

    # --- what the call says -----------------------------------------------------------------

    def _on_message(self, message) -> None:
        with contextlib.suppress(ValueError):
            event = json.loads(message)
            if isinstance(event, dict):
                self._handle(event)

    def _handle(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "conversation.item.added":
            self._place((event.get("item") or {}).get("id"), event.get("previous_item_id"))
        elif kind == "response.output_audio_transcript.done":
            self._add("interviewer", event.get("item_id"), event.get("transcript"))
            self.last_question = event.get("transcript") or ""
            self.lines_heard += 1
            self.tasks.append(asyncio.ensure_future(self._notify()))
        elif kind == "conversation.item.input_audio_transcription.completed":
            self._add("candidate", event.get("item_id"), event.get("transcript"))
        elif kind == "input_audio_buffer.speech_started":
            if isinstance(event.get("audio_start_ms"), int):
                self.speech[event.get("item_id")] = {"started_ms": event["audio_start_ms"]}
        elif kind == "input_audio_buffer.speech_stopped":
            if isinstance(event.get("audio_end_ms"), int):
                timing = self.speech.setdefault(event.get("item_id"), {})
                timing["ended_ms"] = event["audio_end_ms"]
        elif kind == "output_audio_buffer.stopped" and self.last_question.rstrip().endswith("?"):
            # The interviewer has asked and gone quiet: answer.
            self.last_question = ""
            self.tasks.append(asyncio.ensure_future(self._answer()))

    async def _notify(self) -> None:
        async with self.heard:
            self.heard.notify_all()

    async def _answer(self) -> None:
        microphone = self.microphone
        if microphone is None:
            return
        await asyncio.sleep(0.2)
        microphone.speaking = True
        await asyncio.sleep(self.answer_seconds)
        microphone.speaking = False

    def _place(self, item_id, previous) -> None:
        if not item_id or item_id in self.order:
            return
        if previous is None:
            at = 0
        elif previous in self.order:
            at = self.order.index(previous) + 1
        else:
            at = len(self.order)
        self.order.insert(at, item_id)

    def _add(self, speaker: str, item_id, text) -> None:
        if not item_id or not text or item_id in self.seen:
            return
        self.seen.add(item_id)
        timing = self.speech.get(item_id, {})
        rank = self.order.index(item_id) if item_id in self.order else None
        later = [] if rank is None else [i for i in self.order[rank + 1 :] if i in self.seen]
        self.pending.append(
            {
                "item_id": item_id,
                "speaker": speaker,
                "text": text,
                "started_ms": timing.get("started_ms"),
                "ended_ms": timing.get("ended_ms"),
                "before_item_ids": later[:50],  # as the page: the most the API takes
            }
        )

    async def flush(self) -> None:
        """The browser's copy of the transcript, in batches; kept for the next flush unless
        refused (a refusal will not change on a second try)."""
        if not self.pending:
            return
        batch = self.pending[:TRANSCRIPT_BATCH]
        del self.pending[:TRANSCRIPT_BATCH]
        try:
            await self.request("transcript/", body={"entries": batch})
        except ApiError as exc:
            if exc.status >= 500:
                self.pending[:0] = batch
        except (aiohttp.ClientError, TimeoutError, OSError):
            self.pending[:0] = batch

    async def _flush_all(self, seconds: float = 20) -> None:
        """At the end, as the page does on leaving: what is left, retried for a while if the
        web process is away."""
        if self.http is None or self.http.closed:
            return
        loop = asyncio.get_running_loop()
        give_up = loop.time() + seconds
        while self.pending and loop.time() < give_up:
            await self.flush()
            if self.pending:
                await asyncio.sleep(0.5)
