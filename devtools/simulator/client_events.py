"""The client events a call takes, from the data channel or a sideband alike, under the real
service's rules: ``session.update`` is echoed to everyone; ``conversation.item.create`` is
refused where the service would refuse it, and before the first ``response.create`` hands
over an earlier call's conversation; the first ``response.create`` begins the interview, one
during a response is refused, and after a tool output or a typed answer it lets the
interviewer go on."""

from __future__ import annotations

import asyncio
import logging

from devtools.simulator import interviewer
from devtools.simulator.call import Answer, SimulatedCall, new_id, with_defaults

logger = logging.getLogger("interviews.simulator")

# Content a client may give each role's messages (GA), and the longest item id.
CONTENT_TYPES = {
    "user": ("input_text", "input_audio", "input_image"),
    "assistant": ("output_text",),
    "system": ("input_text",),
}
ROLES = tuple(CONTENT_TYPES)
MAX_ITEM_ID = 32


async def receive(call: SimulatedCall, event: dict, source: str) -> None:
    kind = event.get("type")
    if kind == "session.update":
        update = event.get("session") or {}
        call.session = with_defaults({**call.session, **update})
        await call.emit({"type": "session.updated", "session": call.session})
    elif kind == "conversation.item.create":
        await _item_create(call, event)
    elif kind == "response.create":
        await _response_create(call, event)
    else:
        logger.debug("simulator: ignoring %s from %s", kind, source)


async def _item_create(call: SimulatedCall, event: dict) -> None:
    item = event.get("item") or {}
    problem = _invalid_item(call, item)
    if problem:
        await call.emit(
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
        call.item_ids.add(item["id"])
    if item.get("type") == "function_call_output":
        item_id = item.get("id") or new_id("item")
        previous = call.place(item_id, event.get("previous_item_id"))
        done = {**item, "id": item_id, "object": "realtime.item"}
        for kind in ("conversation.item.added", "conversation.item.done"):
            await call.emit({"type": kind, "previous_item_id": previous, "item": done})
        call.owed += 1
        future = call.tool_outputs.get(item.get("call_id"))
        if future is not None and not future.done():
            future.set_result(item.get("output", ""))
    elif item.get("type") == "message" and item.get("role") in ROLES:
        text = " ".join(
            c.get("text", "")
            for c in item.get("content", [])
            if c.get("type") in ("input_text", "output_text")
        ).strip()
        if text:
            item_id = item.get("id") or new_id("item")
            previous = call.place(item_id, event.get("previous_item_id"))
            done = {**item, "id": item_id, "object": "realtime.item"}
            for kind in ("conversation.item.added", "conversation.item.done"):
                await call.emit({"type": kind, "previous_item_id": previous, "item": done})
            call.conversation.append((item["role"], text))
            # A user message once the interview runs is a typed answer, answered
            # at the next response.create; before it starts, the server is handing
            # over an earlier call's conversation.
            if item["role"] == "user" and call.response_requested.is_set():
                call.typed.append(Answer(text, item_id))


async def _response_create(call: SimulatedCall, event: dict) -> None:
    """As the real service: the first response.create begins the interview; one while
    a response is in progress is refused; one that follows a tool output lets the
    interviewer go on, one that follows a typed answer has the answer taken, and any
    other makes the model answer again (here: it says its last line again)."""
    if not call.response_requested.is_set():
        await interviewer.begin(call)
    elif call.responding:
        await call.emit(
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
    elif call.owed:
        call.owed -= 1
        call.continued.set()
    elif call.typed:
        text = " ".join(answer.text for answer in call.typed)
        await call.answers.put(Answer(text, call.typed[-1].item_id, typed=True))
        call.typed.clear()
    elif call.last_line:
        call.tasks.append(asyncio.ensure_future(interviewer.speak(call, call.last_line)))


def _invalid_item(call: SimulatedCall, item: dict) -> str:
    """What the real service would refuse in a conversation.item.create (the parts this
    platform uses): an id over 32 characters or already in the conversation, and content
    a role cannot carry (assistant messages take text, not audio, from a client)."""
    item_id = item.get("id")
    if item_id and (len(item_id) > MAX_ITEM_ID or item_id in call.item_ids):
        return f"Invalid item id {item_id!r}: too long or already used."
    if item.get("type") == "message":
        allowed = CONTENT_TYPES.get(item.get("role"))
        if allowed is None:
            return f"Invalid role {item.get('role')!r}."
        for part in item.get("content") or []:
            if part.get("type") not in allowed:
                return f"Invalid content type {part.get('type')!r} for a {item['role']} item."
    return ""
