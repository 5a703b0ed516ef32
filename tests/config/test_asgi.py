"""The ASGI application: WebSocket upgrades are refused cleanly while no route takes them, and
the candidate API is served with its own middleware."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.core.exceptions import ImproperlyConfigured

from config.asgi import CandidateAPIHandler, application


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


def test_the_candidate_api_runs_only_its_own_middleware():
    path = "/api/candidate/sessions/00000000-0000-0000-0000-000000000001/status/"
    response = async_to_sync(HttpCommunicator(application, "GET", path).get_response)()
    headers = {name.decode().lower() for name, _ in response["headers"]}
    assert response["status"] == 401
    assert "x-request-id" in headers  # CANDIDATE_API_MIDDLEWARE
    assert "x-frame-options" not in headers  # the site's MIDDLEWARE (clickjacking) is not run
    assert "set-cookie" not in headers


def test_the_candidate_api_refuses_middleware_it_cannot_chain_plainly(settings):
    settings.CANDIDATE_API_MIDDLEWARE = ["django.middleware.csrf.CsrfViewMiddleware"]
    with pytest.raises(ImproperlyConfigured, match="process_"):
        CandidateAPIHandler().load_middleware(is_async=True)
