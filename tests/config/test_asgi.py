"""The ASGI application: WebSocket upgrades are refused cleanly while no route takes them."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from config.asgi import application


@async_to_sync
async def handshake(path: str) -> tuple[bool, int]:
    communicator = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"host", b"localhost")]
    )
    connected, code = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected, code


@pytest.mark.parametrize("path", ["/", "/ws/", "/ws/sessions/live/", "/admin/"])
def test_a_same_origin_websocket_upgrade_is_refused_at_the_handshake(path):
    connected, _ = handshake(path)
    assert connected is False
