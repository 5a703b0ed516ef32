"""The simulator's HTTP API, as OpenAI Realtime's:

- ``POST /v1/realtime/calls`` (multipart: ``sdp`` + ``session``) -> ``201``, SDP answer,
  ``Location: /v1/realtime/calls/rtc_...``; JSON ``{"error": {...}}`` otherwise.
- ``POST /v1/realtime/client_secrets`` (JSON: ``session``, optional ``expires_after``
  ``{"anchor": "created_at", "seconds": 10..7200}``, 600 s by default) -> ``200``
  ``{"value": "ek_...", "expires_at": <epoch seconds>, "session": {...}}``: an ephemeral key
  for a browser, which then posts its offer itself to ``POST /v1/realtime/calls`` with
  ``Content-Type: application/sdp`` (the offer as the body) and ``Bearer ek_...``; the call
  gets the secret's session. A secret serves any number of calls until it expires; it is
  refused where the API key is needed (minting another secret).
- ``GET /v1/realtime?call_id=...`` (WebSocket, bearer key): the call's sideband.
- ``POST /v1/realtime/calls/{id}/hangup``.
- ``POST /v1/responses``: the Responses API, for the platform's interview summaries
  (``responses.py``).

Every route wants a bearer key (any key that is not an ``ek_`` secret, or a live secret
where one is accepted) and answers an unknown call with a JSON 404.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time

from aiohttp import web

from devtools.simulator import interviewer, peer, responses
from devtools.simulator.call import SimulatedCall, Timing, new_id, with_defaults
from devtools.simulator.sideband import serve_sideband

MAX_SDP_BYTES = 64 * 1024
# A summary request carries a whole interview's transcript.
MAX_BODY_BYTES = 4 * 1024 * 1024
SECRET_PREFIX = "ek_"  # noqa: S105 (the prefix of the ephemeral keys, not a secret)
SECRET_DEFAULT_SECONDS = 600
SECRET_SECONDS = (10, 7200)  # what expires_after.seconds may be


def _error(status: int, code: str, message: str, kind: str = "invalid_request_error"):
    return web.json_response(
        {"error": {"type": kind, "code": code, "message": message, "param": None}},
        status=status,
    )


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[len("Bearer ") :] if header.startswith("Bearer ") else ""


def _authorized(request: web.Request) -> bool:
    """An API key: any bearer key but an ephemeral client secret."""
    key = _bearer(request)
    return bool(key) and not key.startswith(SECRET_PREFIX)


def _unauthorized():
    return _error(401, "invalid_api_key", "Missing bearer API key.", "authentication_error")


class Simulator:
    """The live calls and the aiohttp application that serves them."""

    def __init__(self, timing: Timing | None = None):
        self.timing = timing or Timing()
        self.calls: dict[str, SimulatedCall] = {}
        self.secrets: dict[str, tuple[float, dict]] = {}  # value -> (expires_at, session)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.add_routes(
            [
                web.post("/v1/realtime/calls", self.create_call),
                web.post("/v1/realtime/client_secrets", self.create_client_secret),
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

    async def create_client_secret(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _unauthorized()
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_json", "The body must be JSON.")
        if not isinstance(body, dict):
            return _error(400, "invalid_json", "The body must be a JSON object.")
        session = body.get("session")
        if not isinstance(session, dict) or session.get("type") != "realtime":
            return _error(400, "invalid_session", "session.type must be realtime.")
        if not session.get("model"):
            return _error(400, "invalid_session", "session.model is required.")
        expires = body.get("expires_after") or {}
        seconds = expires.get("seconds", SECRET_DEFAULT_SECONDS)
        if (
            expires.get("anchor", "created_at") != "created_at"
            or not isinstance(seconds, int)
            or not SECRET_SECONDS[0] <= seconds <= SECRET_SECONDS[1]
        ):
            return _error(
                400,
                "invalid_expires_after",
                "expires_after must be anchored at created_at, 10 to 7200 seconds.",
            )
        self._forget_expired()
        session = with_defaults(session)
        session["id"] = new_id("sess")
        value = new_id(SECRET_PREFIX.rstrip("_"))
        expires_at = int(time.time()) + seconds
        self.secrets[value] = (expires_at, session)
        return web.json_response({"value": value, "expires_at": expires_at, "session": session})

    def _forget_expired(self) -> None:
        now = time.time()
        for value in [v for v, (expires_at, _) in self.secrets.items() if expires_at <= now]:
            del self.secrets[value]

    def _secret_session(self, request: web.Request) -> dict | None:
        """The session of the live client secret the request bears, if any."""
        self._forget_expired()
        held = self.secrets.get(_bearer(request))
        return copy.deepcopy(held[1]) if held else None

    async def create_call(self, request: web.Request) -> web.StreamResponse:
        if request.content_type == "application/sdp":
            # A browser with an ephemeral key: the offer is the body, the session the secret's.
            session = self._secret_session(request)
            if session is None:
                return _error(
                    401,
                    "invalid_api_key",
                    "An SDP body needs a valid client secret (ek_...).",
                    "authentication_error",
                )
            offer = (await request.read()).decode("utf-8", "replace")
            if len(offer) > MAX_SDP_BYTES or not offer.startswith("v=0"):
                return _error(400, "invalid_offer", "The body must be an SDP offer.")
            return await self._start_call(offer, session)
        if not _authorized(request):
            return _unauthorized()
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
        session = with_defaults(session)
        session.setdefault("id", new_id("sess"))
        return await self._start_call(offer, session)

    async def _start_call(self, offer: str, session: dict) -> web.StreamResponse:
        call = SimulatedCall(id=new_id("rtc"), session=session, timing=self.timing)
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
            return _unauthorized()
        call = self.calls.get(request.match_info["call_id"])
        if call is None:
            return _error(404, "call_not_found", "No such call.")
        await self._end(call)
        return web.Response(status=200)

    async def create_response(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _unauthorized()
        return await responses.create_response(request)

    async def sideband(self, request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            return _unauthorized()
        call = self.calls.get(request.query.get("call_id", ""))
        if call is None:
            return _error(404, "call_not_found", "No such call.")
        return await serve_sideband(call, request)


async def serve(host: str, port: int, timing: Timing | None = None) -> web.AppRunner:
    runner = web.AppRunner(Simulator(timing).app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
