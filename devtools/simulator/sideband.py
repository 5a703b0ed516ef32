"""The call's sideband: a WebSocket on which a server sees every event of the call and sends
client events, as on OpenAI's ``GET /v1/realtime?call_id=...``."""

from __future__ import annotations

import contextlib
import json

from aiohttp import WSMsgType, web

from devtools.simulator import client_events
from devtools.simulator.call import SimulatedCall


async def serve_sideband(call: SimulatedCall, request: web.Request) -> web.WebSocketResponse:
    """Serve one sideband connection until either side closes it; the request has been
    authorized and ``call`` found by the API."""
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    call.sidebands.add(ws)
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                with contextlib.suppress(ValueError):
                    event = json.loads(message.data)
                    if isinstance(event, dict):
                        await client_events.receive(call, event, "sideband")
    finally:
        call.sidebands.discard(ws)
    return ws
