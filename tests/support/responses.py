"""A scriptable fake of OpenAI's Responses API (``POST /v1/responses``) for the summary
tests: a real HTTP server on its own event loop thread that records every request and gives
the answers it is told to, in order (then its default: a summary built the simulator's way).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from aiohttp import web

from devtools.simulator.responses import simulated_summary
from tests.support.realtime import Served


@dataclass
class Answer:
    """One answer: ``status`` 200 with ``summary`` (a dict, or a function of the request's
    input text and schema) as the model's output, or an error status with ``code``;
    ``headers`` (e.g. Retry-After); ``delay`` seconds before answering."""

    status: int = 200
    summary: object = None
    code: str = "server_error"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


def ok(summary=None, **kwargs) -> Answer:
    return Answer(200, summary=summary, **kwargs)


def error(status: int, code: str = "server_error", **kwargs) -> Answer:
    return Answer(status, code=code, **kwargs)


def input_text(body: dict) -> str:
    return "\n".join(part["text"] for message in body["input"] for part in message["content"])


class FakeResponses:
    def __init__(self, *answers: Answer):
        self.script = list(answers)
        self.requests: list[dict] = []
        self.times: list[float] = []
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.add_routes([web.post("/v1/responses", self.respond)])
        self.served = Served(app)
        self.base_url = self.served.base_url
        self.closed = False

    def then(self, *answers: Answer) -> FakeResponses:
        self.script.extend(answers)
        return self

    async def respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.times.append(time.monotonic())
        self.requests.append({"headers": dict(request.headers), "body": body})
        answer = self.script.pop(0) if self.script else ok()
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.status != 200:
            return web.json_response(
                {
                    "error": {
                        "type": "server_error",
                        "code": answer.code,
                        # What a real error message can hold, and must never be shown.
                        "message": "Incorrect API key provided: sk-proj-abc***xyz.",
                    }
                },
                status=answer.status,
                headers=answer.headers,
            )
        schema = body["text"]["format"]["schema"]
        summary = answer.summary
        if callable(summary):
            summary = summary(input_text(body), schema)
        if summary is None:
            summary = simulated_summary(input_text(body), schema)
        return web.json_response(
            {
                "id": f"resp_{len(self.requests):04d}",
                "object": "response",
                "status": "completed",
                "model": body["model"] + "-2026-01-01",
                "output": [
                    {"type": "reasoning", "id": "rs_1", "summary": []},
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": json.dumps(summary)}],
                    },
                ],
                "usage": {
                    "input_tokens": 1200,
                    "output_tokens": 300,
                    "output_tokens_details": {"reasoning_tokens": 100},
                    "total_tokens": 1500,
                },
            },
            headers=answer.headers,
        )

    def close(self):
        if not self.closed:
            self.closed = True
            self.served.close()
