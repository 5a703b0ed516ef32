"""The simulator speaks the provider's protocol: a real WebRTC call with the oai-events
channel, GA events to both the channel and the sideband, turns from audio energy, typed
answers, tool calls and hang-up - driven here by the production client (OpenAIRealtime)."""

import asyncio
import json

import pytest

from live.provider import OpenAIRealtime
from tests.support.realtime import FAST, Peer, serve_simulator

SESSION = {
    "type": "realtime",
    "model": "gpt-realtime",
    "instructions": "Intro.\n\nQuestions:\n1. Why this role?\n2. A hard bug?\n\n"
    "Topics you are assessing (privately):\n- Clarity: explains well\n\nBye.",
    "audio": {"output": {"voice": "marin"}},
}


@pytest.fixture
def simulator():
    served, _simulator = serve_simulator()
    yield served
    served.close()


def client(served):
    return OpenAIRealtime(
        base_url=served.base_url, api_key="sk-test", timeout=10, connect_timeout=5
    )


def test_a_whole_interview_over_webrtc_and_the_sideband(simulator):
    async def scenario():
        provider, peer = client(simulator), Peer()
        call = await provider.create_call(offer_sdp=await peer.offer(), session=SESSION)
        assert call.call_id.startswith("rtc_") and call.answer_sdp.startswith("v=0")
        await peer.answer(call.answer_sdp)
        await asyncio.wait_for(peer.opened.wait(), 10)

        sideband = await provider.attach(call.call_id)
        seen, tools = [], []

        async def read():
            answered = set()
            async for event in sideband:
                seen.append(event)
                if event["type"] == "response.function_call_arguments.done":
                    tools.append((event["name"], json.loads(event["arguments"])))
                    await sideband.send(
                        {
                            "type": "conversation.item.create",
                            "item": {
                                "type": "function_call_output",
                                "call_id": event["call_id"],
                                "output": "{}",
                            },
                        }
                    )
                    answered.add(event["response_id"])
                elif event["type"] == "response.done" and event["response"]["id"] in answered:
                    await sideband.send({"type": "response.create"})  # go on, once it is done

        reader = asyncio.ensure_future(read())
        await sideband.send({"type": "response.create"})
        first = await peer.wait_for("response.output_audio_transcript.done")
        assert "Why this role?" in first["transcript"]

        peer.voice.speaking = True  # the candidate answers by voice
        await peer.wait_for("input_audio_buffer.speech_started")
        await asyncio.sleep(0.4)
        peer.voice.speaking = False
        answer = await peer.wait_for("conversation.item.input_audio_transcription.completed")
        assert "seconds of speech" in answer["transcript"]
        # As the real service's: positions in the call's audio, the start with its prefix
        # padding, the end with the silence that ended the turn.
        started = await peer.wait_for("input_audio_buffer.speech_started")
        stopped = await peer.wait_for("input_audio_buffer.speech_stopped")
        assert started["item_id"] == stopped["item_id"] == answer["item_id"]
        assert started["audio_start_ms"] >= 0
        assert stopped["audio_end_ms"] - started["audio_start_ms"] >= 400 + FAST.silence_ms

        second = await peer.wait_for("response.output_audio_transcript.done", 2)
        assert "A hard bug?" in second["transcript"]
        peer.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "I typed this."}],
                },
            }
        )
        peer.send({"type": "response.create"})  # as the page does
        await peer.wait_for("conversation.item.done")

        await peer.wait_for("response.function_call_arguments.done", 2, timeout=20)
        await asyncio.sleep(0.2)
        assert tools == [
            (
                "record_assessment",
                {"criterion": "Clarity", "score": 3, "evidence": tools[0][1]["evidence"]},
            ),
            ("end_interview", {"reason": "completed"}),
        ]
        assert "error" not in [e["type"] for e in seen]
        # The sideband saw the same events as the data channel.
        assert {e["type"] for e in seen} >= {
            "response.output_audio_transcript.done",
            "conversation.item.input_audio_transcription.completed",
            "conversation.item.done",
        }
        await provider.hangup(call.call_id)
        await asyncio.wait_for(reader, 5)  # the sideband closes with the call
        await peer.close()

    asyncio.run(scenario())


def test_session_update_is_echoed_to_everyone(simulator):
    async def scenario():
        provider, peer = client(simulator), Peer()
        call = await provider.create_call(offer_sdp=await peer.offer(), session=SESSION)
        await peer.answer(call.answer_sdp)
        await asyncio.wait_for(peer.opened.wait(), 10)
        peer.send({"type": "session.update", "session": {"instructions": "Be nice."}})
        updated = await peer.wait_for("session.updated")
        assert updated["session"]["instructions"] == "Be nice."
        await provider.hangup(call.call_id)
        await peer.close()

    asyncio.run(scenario())


def test_responses_follow_the_real_services_rules(simulator):
    """A candidate who speaks before anyone asks gets a response from turn detection; a
    response.create while one is in progress is refused; one with nothing new to answer
    makes the interviewer answer again."""

    async def scenario():
        provider, peer = client(simulator), Peer()
        call = await provider.create_call(offer_sdp=await peer.offer(), session=SESSION)
        await peer.answer(call.answer_sdp)
        await asyncio.wait_for(peer.opened.wait(), 10)
        sideband = await provider.attach(call.call_id)

        peer.voice.speaking = True  # "hello?" before the interview was started
        await peer.wait_for("input_audio_buffer.speech_started")
        await asyncio.sleep(0.3)
        peer.voice.speaking = False
        await peer.wait_for("response.created")
        await sideband.send({"type": "response.create"})
        error = await peer.wait_for("error")
        assert error["error"]["code"] == "conversation_already_has_active_response"
        first = await peer.wait_for("response.output_audio_transcript.done")
        assert "Why this role?" in first["transcript"]

        await asyncio.sleep(0.2)
        await sideband.send({"type": "response.create"})
        again = await peer.wait_for("response.output_audio_transcript.done", 2)
        assert again["transcript"] == first["transcript"]
        assert peer.types().count("error") == 1
        await provider.hangup(call.call_id)
        await sideband.close()
        await peer.close()

    asyncio.run(scenario())


def test_items_the_real_service_refuses_are_errors(simulator):
    def message(item_id, role, kind):
        return {
            "type": "conversation.item.create",
            "item": {
                "id": item_id,
                "type": "message",
                "role": role,
                "content": [{"type": kind, "text": "hi"}],
            },
        }

    async def scenario():
        provider, peer = client(simulator), Peer()
        call = await provider.create_call(offer_sdp=await peer.offer(), session=SESSION)
        await peer.answer(call.answer_sdp)
        await asyncio.wait_for(peer.opened.wait(), 10)
        for event in [
            message("item_ok", "assistant", "output_text"),
            message("item_ok", "user", "input_text"),  # the id is taken
            message("x" * 33, "user", "input_text"),
            message("item_audio", "assistant", "output_audio"),
            message("item_sys", "system", "output_text"),
        ]:
            peer.send(event)
        await peer.wait_for("error", 4)
        await provider.hangup(call.call_id)
        await peer.close()
        return peer

    peer = asyncio.run(scenario())
    assert [e["item"]["id"] for e in peer.events if e["type"] == "conversation.item.done"] == [
        "item_ok"
    ]
    assert {e["error"]["code"] for e in peer.events if e["type"] == "error"} == {"invalid_value"}


@pytest.mark.parametrize(
    "files,code",
    [
        ({"sdp": "not sdp", "session": json.dumps(SESSION)}, "invalid_offer"),
        ({"sdp": "v=0\r\n"}, "missing_session"),
        ({"sdp": "v=0\r\n", "session": "{"}, "invalid_json"),
    ],
)
def test_bad_calls_get_json_errors(simulator, files, code):
    import httpx

    response = httpx.post(
        simulator.base_url + "/realtime/calls",
        headers={"Authorization": "Bearer k"},
        files={k: (None, v) for k, v in files.items()},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_the_key_is_required(simulator):
    import httpx

    response = httpx.post(simulator.base_url + "/realtime/calls", files={"sdp": (None, "v=0\r\n")})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_the_guard_notices_every_change_that_matters():
    from interviews.session_config import drifted

    expected = {
        "instructions": "x",
        "tools": [1],
        "tool_choice": "auto",
        "output_modalities": ["audio"],
        "truncation": "auto",
        "audio": {
            "input": {"transcription": {"model": "m"}, "turn_detection": {"type": "t"}},
            "output": {"voice": "marin"},
        },
    }
    assert drifted(expected, expected) == []
    changed = {
        **expected,
        "tool_choice": "none",
        "audio": {
            "input": {"transcription": None, "turn_detection": {"type": "t"}},
            "output": {"voice": "ash"},
        },
    }
    assert drifted(expected, changed) == ["tool_choice", "voice", "audio.input.transcription"]


def test_sound_before_the_first_question_is_a_turn_of_its_own(simulator):
    """As with the real service's turn detection: speech that began before the interviewer's
    greeting becomes a user item when its audio is committed - after the greeting if that
    joined the conversation first (previous_item_id says so) - and is not the answer to the
    question asked while it went on."""

    async def scenario():
        provider, peer = client(simulator), Peer()
        call = await provider.create_call(offer_sdp=await peer.offer(), session=SESSION)
        await peer.answer(call.answer_sdp)
        await asyncio.wait_for(peer.opened.wait(), 10)
        sideband = await provider.attach(call.call_id)

        peer.voice.speaking = True  # the microphone picks up sound from the start
        early = await peer.wait_for("input_audio_buffer.speech_started")
        await sideband.send({"type": "response.create"})  # the server starts the interview
        greeting = await peer.wait_for("response.output_audio_transcript.done")
        await asyncio.sleep(0.1)
        peer.voice.speaking = False
        committed = await peer.wait_for("input_audio_buffer.committed")
        assert committed["item_id"] == early["item_id"]
        assert committed["previous_item_id"] == greeting["item_id"]
        added = [
            e
            for e in peer.events
            if e["type"] == "conversation.item.added" and e["item"]["id"] == early["item_id"]
        ]
        assert [e["previous_item_id"] for e in added] == [greeting["item_id"]]
        [first] = [
            e
            for e in peer.events
            if e["type"] == "conversation.item.added" and e["item"]["id"] == greeting["item_id"]
        ]
        assert first["previous_item_id"] is None

        # The interviewer still waits for an answer to its first question...
        await asyncio.sleep(1.0)
        assert peer.types().count("response.output_audio_transcript.done") == 1
        # ...which is the next thing the candidate says.
        peer.voice.speaking = True
        await asyncio.sleep(0.3)
        peer.voice.speaking = False
        second = await peer.wait_for("response.output_audio_transcript.done", 2)
        assert "A hard bug?" in second["transcript"]
        await provider.hangup(call.call_id)
        await sideband.close()
        await peer.close()

    asyncio.run(scenario())


def test_it_assesses_the_criteria_its_tool_allows():
    """Like a model, it names the criteria the record_assessment schema lists (a name with
    a colon included), falling back to the instructions' topics when the schema lists none."""
    from devtools.simulator.interviewer import assessed_topics
    from interviews.session_config import session_tools

    class Criterion:
        name = "Design: APIs"

    assert assessed_topics({**SESSION, "tools": session_tools([Criterion()])}) == ["Design: APIs"]
    assert assessed_topics(SESSION) == ["Clarity"]
