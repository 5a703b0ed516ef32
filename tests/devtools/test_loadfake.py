"""The load fake speaks the sideband's GA protocol for calls registered up front, driven here
by the production client (OpenAIRealtime): session.created on attach, session.updated echoes,
the interviewer's and the candidate's transcripts (stamped as sent), a record_assessment tool
call answered with function_call_output and response.create, and a record of attachments."""

import asyncio
import json

import aiohttp

from devtools.loadfake.server import LoadFake
from live.provider import OpenAIRealtime
from tests.support.realtime import FAST, Served


async def fake_api(served, path, body=None):
    """The fake's own endpoints: POST with a body, else GET."""
    url = served.base_url.removesuffix("/v1") + path
    async with aiohttp.ClientSession() as client:
        method = client.post(url, json=body) if body is not None else client.get(url)
        async with method as response:
            return await response.json()


def test_a_registered_call_talks_like_a_realtime_call_on_its_sideband():
    served = Served(LoadFake(turn_seconds=0.5, tool_every=1, timing=FAST).app())
    provider = OpenAIRealtime(
        base_url=served.base_url, api_key="sk-load", timeout=10, connect_timeout=5
    )
    tools = {"type": "function", "name": "record_assessment", "parameters": {"type": "object"}}
    session = {"type": "realtime", "instructions": "Be kind.", "tools": [tools]}

    async def scenario():
        await fake_api(served, "/load/calls", {"ids": ["rtc_load_a"]})
        sideband = await provider.attach("rtc_load_a")
        seen = []
        await sideband.send({"type": "session.update", "session": session})
        await sideband.send({"type": "response.create"})  # the follower starts the interview
        async for event in sideband:
            seen.append(event)
            if event["type"] == "response.function_call_arguments.done":
                output = {"type": "function_call_output", "call_id": event["call_id"]}
                await sideband.send({"type": "conversation.item.create", "item": output})
            if event["type"] == "response.done" and any(
                item.get("type") == "function_call" for item in event["response"]["output"]
            ):
                await sideband.send({"type": "response.create"})
                break
        await sideband.close()
        await provider.aclose()
        await asyncio.sleep(0.1)  # the fake sees the close
        return seen, await fake_api(served, "/load/report")

    try:
        seen, report = asyncio.run(scenario())
    finally:
        served.close()
    kinds = [event["type"] for event in seen]
    assert kinds[0] == "session.created"
    assert seen[1]["type"] == "session.updated"
    assert seen[1]["session"]["instructions"] == "Be kind."
    said = [e for e in seen if e["type"] == "response.output_audio_transcript.done"]
    heard = [
        e for e in seen if e["type"] == "conversation.item.input_audio_transcription.completed"
    ]
    assert said and heard
    assert {e["item_id"] for e in said + heard} <= set(report["stamps"])
    tool = next(e for e in seen if e["type"] == "response.function_call_arguments.done")
    assert tool["name"] == "record_assessment"
    assert set(json.loads(tool["arguments"])) == {"criterion", "score", "evidence"}
    assert report["received"]["conversation.item.create"] == 1
    (attachment,) = report["calls"]["rtc_load_a"]["attachments"]
    assert attachment[1] is not None  # closed when the client closed
    assert report["errors"] == {}


def test_an_unknown_call_is_refused():
    served = Served(LoadFake(timing=FAST).app())
    provider = OpenAIRealtime(
        base_url=served.base_url, api_key="sk-load", timeout=10, connect_timeout=5
    )

    async def scenario():
        try:
            await provider.attach("rtc_nobody")
        except Exception as exc:
            return type(exc).__name__
        return None

    try:
        assert asyncio.run(scenario()) == "UpstreamUnavailable"
    finally:
        served.close()
