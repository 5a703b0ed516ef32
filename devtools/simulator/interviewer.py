"""The scripted interviewer: once asked to respond (or spoken to first) it asks each question
found in the session's instructions, waits for the candidate's answer, records an assessment
per rubric topic and calls ``end_interview`` after the last question. Handed an earlier call's
conversation (a reconnect) it carries on from the first unanswered question. Its responses
look like the real service's over WebRTC: the text is generated faster than it is spoken."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time

from devtools.simulator.call import Answer, SimulatedCall, new_id

logger = logging.getLogger("interviews.simulator")


def scripted_questions(instructions: str) -> list[str]:
    block = instructions.split("Questions:", 1)[-1]
    block = re.split(r"\n\s*\n", block.strip(), maxsplit=1)[0]
    return [m.group(1).strip() for m in re.finditer(r"^\s*\d+\.\s+(.+)$", block, re.M)]


def assessed_topics(session: dict) -> list[str]:
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


async def begin(call: SimulatedCall) -> None:
    """The interviewer's first response is created (it speaks after greeting_delay)."""
    if call.response_requested.is_set():
        return
    call.response_requested.set()
    call.responding, call.first_response = True, new_id("resp")
    await call.emit(
        {
            "type": "response.created",
            "response": {"id": call.first_response, "status": "in_progress"},
        }
    )


async def speak(call: SimulatedCall, text: str, response_id: str = "") -> None:
    """One response that says `text`; `response_id` names one already created. As with
    the real service over WebRTC, the text is generated faster than it is spoken: the
    response is done (response.done) while its audio still plays, and
    output_audio_buffer.stopped marks the end of the sound."""
    loop = asyncio.get_running_loop()
    call.responding, call.last_line = True, text
    item_id = new_id("item")
    if not response_id:
        response_id = new_id("resp")
        await call.emit(
            {
                "type": "response.created",
                "response": {"id": response_id, "status": "in_progress"},
            }
        )
    item = {"id": item_id, "type": "message", "role": "assistant", "content": []}
    await call.emit(
        {"type": "response.output_item.added", "response_id": response_id, "item": item}
    )
    await call.emit(
        {
            "type": "conversation.item.added",
            "previous_item_id": call.place(item_id),
            "item": item,
        }
    )
    await call.emit({"type": "output_audio_buffer.started", "response_id": response_id})
    call.voice.speaking = True
    words = text.split()
    per_word = min(call.timing.seconds_per_word, call.timing.max_speech / max(len(words), 1))
    sound_ends = loop.time() + per_word * len(words)
    for word in words:
        await call.emit(
            {
                "type": "response.output_audio_transcript.delta",
                "response_id": response_id,
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "delta": word + " ",
            }
        )
        await asyncio.sleep(per_word * call.timing.generation_ratio)
    await call.emit(
        {
            "type": "response.output_audio_transcript.done",
            "response_id": response_id,
            "item_id": item_id,
            "output_index": 0,
            "content_index": 0,
            "transcript": text,
        }
    )
    call.said.append(("interviewer", item_id, text))
    done = {
        **item,
        "status": "completed",
        "content": [{"type": "output_audio", "transcript": text}],
    }
    await _close_response(call, response_id, done)
    await asyncio.sleep(max(0.0, sound_ends - loop.time()))
    call.voice.speaking = False
    await call.emit({"type": "output_audio_buffer.stopped", "response_id": response_id})


async def _close_response(call: SimulatedCall, response_id: str, item: dict) -> None:
    """The response's one output item is done, then the response (it stops being in
    progress: a new response.create is accepted from here)."""
    await call.emit({"type": "response.output_item.done", "response_id": response_id, "item": item})
    call.responding = False
    await call.emit(
        {
            "type": "response.done",
            "response": {"id": response_id, "status": "completed", "output": [item]},
        }
    )


async def call_tool(
    call: SimulatedCall, name: str, arguments: dict, *, then_continue=True
) -> str | None:
    """A response that only calls a tool, as the real service sends it; the output is
    awaited, then (unless the tool ends the call) the client's response.create that lets
    the interviewer go on. A response.create the service refused leaves the interviewer
    waiting, as it would; after ``tool_timeout`` the script goes on anyway, so a broken
    client shows up as errors rather than as a hung test."""
    response_id, call_id, item_id = new_id("resp"), new_id("call"), new_id("item")
    future = asyncio.get_running_loop().create_future()
    call.tool_outputs[call_id] = future
    call.continued.clear()
    call.responding = True
    await call.emit(
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
    await call.emit(
        {"type": "response.output_item.added", "response_id": response_id, "item": item}
    )
    await call.emit(
        {
            "type": "conversation.item.added",
            "previous_item_id": call.place(item_id),
            "item": item,
        }
    )
    await call.emit(
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
    await asyncio.sleep(call.timing.tool_response_tail)
    done = {**item, "status": "completed", "arguments": json.dumps(arguments)}
    await _close_response(call, response_id, done)
    try:
        output = await asyncio.wait_for(future, call.timing.tool_timeout)
    except TimeoutError:
        return None
    if then_continue:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(call.continued.wait(), call.timing.tool_timeout)
    return output


async def interview(call: SimulatedCall) -> None:
    """Run the script for the call's lifetime; a failure is reported as the real service
    reports its own, with an error event."""
    try:
        await _script(call)
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


async def _script(call: SimulatedCall) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(call.channel_open.wait(), 15)
    await call.emit({"type": "session.created", "session": call.session})
    # The server's sideband starts the interview with response.create once attached (or
    # the candidate's "hello?" does); if nobody asks within a while, begin anyway.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(call.response_requested.wait(), 10)
    await begin(call)
    await asyncio.sleep(call.timing.greeting_delay)
    instructions = call.session.get("instructions", "")
    questions = scripted_questions(instructions) or ["Tell me about yourself."]
    first, resumed = _resume_point(call, questions)
    for number, question in enumerate(questions[first:], start=first):
        if number > first:
            opening = "Thank you. "
        elif resumed:
            opening = "Welcome back. "
        else:
            opening = "Hello, thank you for joining. "
        call.asked_at = time.monotonic()
        await speak(call, opening + question, response_id=call.first_response)
        call.first_response = ""
        _drain_answers(call)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_answer(call), call.timing.answer_timeout)
    for topic in assessed_topics(call.session):
        await call_tool(
            call,
            "record_assessment",
            {
                "criterion": topic,
                "score": 3,
                "evidence": "Simulated assessment: the simulator does not understand speech.",
            },
        )
    await speak(
        call,
        "That was my last question. Thank you for your time; a person at "
        "the company will review your interview.",
    )
    await call_tool(call, "end_interview", {"reason": "completed"}, then_continue=False)


def _resume_point(call: SimulatedCall, questions: list[str]) -> tuple[int, bool]:
    """Where a conversation handed over at the start (a replacement call) leaves off:
    the index of the first question without an answer, and whether there was one."""
    asked, answered = -1, False
    for role, text in call.conversation:
        if role == "assistant":
            for index, question in enumerate(questions):
                if question in text and index > asked:
                    asked, answered = index, False
        elif role == "user" and asked >= 0:
            answered = True
    if asked < 0:
        return 0, False
    return (asked + 1 if answered else asked), True


async def _answer(call: SimulatedCall) -> Answer:
    """The candidate's answer to the question just asked: a typed answer, or speech that
    began once the question was being asked. Sound that began before it (a "hello?" before
    the first question, still going as the interviewer spoke) is a turn of its own in the
    conversation, not the answer."""
    while True:
        answer = await call.answers.get()
        if answer.typed or answer.began >= call.asked_at:
            return answer


def _drain_answers(call: SimulatedCall) -> None:
    # Sound while the interviewer was still talking does not answer the new question; a
    # typed answer the interviewer was asked to respond to does.
    kept = []
    while not call.answers.empty():
        answer = call.answers.get_nowait()
        if answer.typed:
            kept.append(answer)
    for answer in kept:
        call.answers.put_nowait(answer)
