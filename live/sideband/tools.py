"""The interviewer's tool calls: arguments checked against the tool's schema, the tool acted
on (``record_assessment`` is kept on the timeline, ``end_interview`` ends the session), its
output returned, and the interviewer asked to go on once the response that called it is done."""

from __future__ import annotations

import json
import logging

from interviews.models import EndReason
from interviews.session_config import tool_argument_errors

logger = logging.getLogger(__name__)

HANGUP_GRACE_SECONDS = 3  # let the goodbye finish playing before hanging up


class ToolCalls:
    def __init__(self, store, *, end):
        self.store = store
        self.end = end  # ends the session and hangs up: end(reason, grace=seconds)
        self.continue_after: set[str] = set()  # responses whose tool outputs we answered

    async def answer(self, config: dict, event: dict, sideband) -> None:
        """Act on one response.function_call_arguments.done and send the tool's output."""
        name, call_id = event.get("name"), event.get("call_id")
        try:
            arguments = json.loads(event.get("arguments") or "{}")
        except ValueError:
            arguments = None  # not JSON: no schema accepts it
        problems = tool_argument_errors(config, name, arguments)
        if problems:
            # Not acted on: the interviewer is told what was wrong and may call it again. The
            # details can quote the arguments (the candidate's words): timeline, not log.
            logger.warning(
                "tool call refused",
                extra={"call": self.store.call_id, "tool": name, "problems": len(problems)},
            )
            await self.store.event(
                "tool.rejected", {"name": name, "call_id": call_id, "errors": problems}
            )
            output = {"error": "invalid arguments", "details": problems}
        elif name == "record_assessment":
            await self.store.event(
                "assessment",
                {
                    "criterion": str(arguments.get("criterion", ""))[:120],
                    "score": arguments.get("score"),
                    "evidence": str(arguments.get("evidence", ""))[:2000],
                },
            )
            output = {"recorded": True}
        elif name == "end_interview":
            output = {"ended": True}
        else:
            output = {"error": f"unknown tool {name!r}"}
        if not problems:
            await self.store.event("tool.called", {"name": name, "call_id": call_id})
        await sideband.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call_id,
                    "output": json.dumps(output),
                },
            }
        )
        if name == "end_interview" and not problems:
            await self.end(EndReason.INTERVIEW_COMPLETE, grace=HANGUP_GRACE_SECONDS)
        elif event.get("response_id"):
            # The response that called the tool is still open: a response.create now would
            # be refused (conversation_already_has_active_response). Continue once it is done.
            self.continue_after.add(event["response_id"])
        else:
            await sideband.send({"type": "response.create"})

    async def response_done(self, response: dict, sideband) -> None:
        """A response whose tool calls we answered is done: ask the interviewer to go on,
        unless the response already went on after its tool call (it spoke after it) or the
        candidate cut it short (turn detection then responds to them)."""
        if response.get("id") not in self.continue_after:
            return
        self.continue_after.discard(response["id"])
        output = response.get("output") or []
        if response.get("status") == "cancelled":
            return
        if output and output[-1].get("type") != "function_call":
            return
        await sideband.send({"type": "response.create"})
