"""The call's WebRTC peer (aiortc): it answers the browser's offer, takes client events on
the ``oai-events`` data channel, plays the interviewer's voice (a tone while it speaks) and
detects the candidate's turns from the energy of the incoming audio, as the real service's
turn detection would."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import math
import struct
import time
from array import array
from collections.abc import Awaitable, Callable

from aiortc import MediaStreamTrack, RTCSessionDescription
from av import AudioFrame

from devtools.simulator import client_events, interviewer
from devtools.simulator.call import Answer, SimulatedCall, new_id

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms


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


async def answer_offer(
    call: SimulatedCall, offer: str, on_closed: Callable[[SimulatedCall], Awaitable[None]]
) -> str:
    """Wire the call's peer connection and return its SDP answer to ``offer``; ``on_closed``
    runs when the connection fails or closes. Raises what aiortc raises for an offer it
    cannot use."""
    pc = call.pc

    @pc.on("datachannel")
    def on_datachannel(channel):
        if channel.label != "oai-events":
            return
        call.channel = channel

        @channel.on("message")
        def on_message(message):
            with contextlib.suppress(ValueError):
                event = json.loads(message)
                if isinstance(event, dict):
                    receiving = client_events.receive(call, event, "datachannel")
                    call.tasks.append(asyncio.ensure_future(receiving))

        if channel.readyState == "open":
            call.channel_open.set()
        channel.on("open", call.channel_open.set)

    @pc.on("track")
    def on_track(track):
        if track.kind == "audio":
            call.tasks.append(asyncio.ensure_future(hear(call, track)))

    @pc.on("connectionstatechange")
    async def on_state():
        if pc.connectionState in {"failed", "closed"}:
            await on_closed(call)

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    call.voice = InterviewerVoice()
    pc.addTrack(call.voice)
    await pc.setLocalDescription(await pc.createAnswer())
    return pc.localDescription.sdp


async def hear(call: SimulatedCall, track) -> None:
    """Turn detection from the energy of the candidate's audio. As the real service's,
    its times are positions in the audio received on the call (audio_start_ms includes
    the prefix padding before the speech, audio_end_ms the silence after it)."""
    timing = call.timing
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
        loud = _rms(frame) >= timing.speech_threshold
        if loud:
            last_loud = now_ms
            if speaking_since is None:
                speaking_since, item_id = now_ms, new_id("item")
                began = time.monotonic()
                await call.emit(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": int(max(0, now_ms - _prefix_padding_ms(call))),
                        "item_id": item_id,
                    }
                )
        if speaking_since is not None and (
            now_ms - last_loud >= timing.silence_ms or now_ms - speaking_since >= timing.max_turn_ms
        ):
            seconds = (last_loud - speaking_since) / 1000
            await call.emit(
                {
                    "type": "input_audio_buffer.speech_stopped",
                    "audio_end_ms": int(received_ms),
                    "item_id": item_id,
                }
            )
            # The user item joins the conversation when its audio is committed, after
            # whatever was added while the candidate spoke (the interviewer's greeting,
            # for a "hello?" that began before it).
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
            if not call.response_requested.is_set() and _creates_responses(call):
                # Spoken to before anyone asked the interviewer to begin: like the real
                # service's turn detection, it responds on its own.
                await interviewer.begin(call)
            transcript = f"(simulated answer: {seconds:.1f} seconds of speech)"
            # As with the real service, the reply does not wait for the transcription,
            # which may arrive after the interviewer has moved on.
            call.tasks.append(asyncio.ensure_future(_transcribe(call, item_id, transcript)))
            await call.answers.put(Answer(transcript, item_id, began=began))
            speaking_since = last_loud = None


def _turn_detection(call: SimulatedCall) -> dict | None:
    return ((call.session.get("audio") or {}).get("input") or {}).get("turn_detection")


def _prefix_padding_ms(call: SimulatedCall) -> int:
    padding = (_turn_detection(call) or {}).get("prefix_padding_ms", 300)
    return padding if isinstance(padding, int) else 300


def _creates_responses(call: SimulatedCall) -> bool:
    detection = _turn_detection(call)
    return bool(detection) and detection.get("create_response", True) is not False


async def _transcribe(call: SimulatedCall, item_id: str, transcript: str) -> None:
    await asyncio.sleep(call.timing.transcription_delay)
    await call.emit(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item_id,
            "content_index": 0,
            "transcript": transcript,
        }
    )
    call.said.append(("candidate", item_id, transcript))
