"""The simulator's HTTP API, as OpenAI Realtime's:

- ``POST /v1/realtime/calls`` (multipart: ``sdp`` + ``session``) -> ``201``, SDP answer,
  ``Location: /v1/realtime/calls/rtc_...``; JSON ``{"error": {...}}`` otherwise.
- ``GET /v1/realtime?call_id=...`` (WebSocket, bearer key): the call's sideband.
- ``POST /v1/realtime/calls/{id}/hangup``.
- ``POST /v1/responses``: the Responses API, for the platform's interview summaries
  (``responses.py``).

Every route wants a bearer key (any) and answers an unknown call with a JSON 404.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from devtools.simulator import interviewer, peer, responses
from devtools.simulator.call import SimulatedCall, Timing, new_id, with_defaults
from devtools.simulator.sideband import serve_sideband

MAX_SDP_BYTES = 64 * 1024
# A summary request carries a whole interview's transcript.
MAX_BODY_BYTES = 4 * 1024 * 1024


def _error(status: int, code: str, message: str, kind: str = "invalid_request_error"):
    return web.json_response(
        {"error": {"type": kind, "code": code, "message": message, "param": None}},
        status=status,
    )


def _authorized(request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and len(header) > len("Bearer ")


class Simulator:
    """The live calls and the aiohttp application that serves them."""

    def __init__(self, timing: Timing | None = None):
        self.timing = timing or Timing()
        self.calls: dict[str, SimulatedCall] = {}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.add_routes(
            [
                web.post("/v1/realtime/calls", self.create_call),
                web.post("/v1/realtime/calls/{call_id}/hangup", self.hangup),
                web.get("/v1/realtime", self.sideband),
                web.post("/v1/responses", self.create_response),
            ]
        )
        app.on_shutdown.append(self._shutdown)
        return app

    async def _shutdown(self, app) -> None:
        for call in list(self.calls.values()):
            await call.close()

    async def create_call(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _error(401, "invalid_api_key", "Missing bearer API key.", "authentication_error")
        if not request.content_type.startswith("multipart/"):
            return _error(400, "invalid_content_type", "Expected multipart/form-data.")
        parts = {}
        reader = await request.multipart()
        async for part in reader:
            parts[part.name] = (await part.read(decode=False)).decode("utf-8", "replace")
        offer, session_json = parts.get("sdp", ""), parts.get("session")
        if not offer.startswith("v=0"):
            return _error(400, "invalid_offer", "The sdp part must be an SDP offer.")
        if session_json is None:
            return _error(400, "missing_session", "The session part is required.")
        try:
            session = json.loads(session_json)
        except ValueError:
            return _error(400, "invalid_json", "The session part must be JSON.")
        if session.get("type") != "realtime" or not session.get("model"):
            return _error(400, "invalid_session", "session.type must be realtime, with a model.")

        call = SimulatedCall(id=new_id("rtc"), session=with_defaults(session), timing=self.timing)
        call.session.setdefault("id", new_id("sess"))
        try:
            answer = await peer.answer_offer(call, offer, on_closed=self._end)
        except Exception as exc:  # aiortc rejects SDP it cannot use
            await call.pc.close()
            return _error(400, "invalid_offer", f"Could not use the offer: {exc}")
        self.calls[call.id] = call
        call.tasks.append(asyncio.ensure_future(interviewer.interview(call)))
        return web.Response(
            status=201,
            text=answer,
            content_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/{call.id}"},
        )

    async def _end(self, call: SimulatedCall) -> None:
        self.calls.pop(call.id, None)
        await call.close()

    async def hangup(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _error(401, "invalid_api_key", "Missing bearer API key.", "authentication_error")
        call = self.calls.get(request.match_info["call_id"])
        if call is None:
            return _error(404, "call_not_found", "No such call.")
        await self._end(call)
        return web.Response(status=200)

    async def create_response(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _error(401, "invalid_api_key", "Missing bearer API key.", "authentication_error")
        return await responses.create_response(request)

    async def sideband(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _error(401, "invalid_api_key", "Missing bearer API key.", "authentication_error")
        call = self.calls.get(request.query.get("call_id", ""))
        if call is None:
            return _error(404, "call_not_found", "No such call.")
        return await serve_sideband(call, request)


async def serve(host: str, port: int, timing: Timing | None = None) -> web.AppRunner:
    runner = web.AppRunner(Simulator(timing).app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
