"""OpenAI's reference flow for browsers, as the simulator serves it: a server mints an
ephemeral client secret (POST /v1/realtime/client_secrets), then the browser posts its offer
to /v1/realtime/calls itself (application/sdp, Bearer ek_...) and the call gets the secret's
session."""

import asyncio
import time

import httpx
import pytest

from devtools.simulator import api
from tests.support.realtime import Peer, serve_simulator

SESSION = {
    "type": "realtime",
    "model": "gpt-realtime",
    "instructions": "Intro.\n\nQuestions:\n1. Why this role?\n\nBye.",
    "audio": {"output": {"voice": "marin"}},
}


@pytest.fixture
def served():
    served, simulator = serve_simulator()
    yield served, simulator
    served.close()


def mint(base_url: str, body: dict, key: str = "sk-test") -> httpx.Response:
    return httpx.post(
        base_url + "/realtime/client_secrets",
        headers={"Authorization": f"Bearer {key}"},
        json=body,
    )


def test_a_browser_connects_with_an_ephemeral_secret(served):
    served, simulator = served
    before = int(time.time())
    response = mint(
        served.base_url,
        {"expires_after": {"anchor": "created_at", "seconds": 120}, "session": SESSION},
    )
    assert response.status_code == 200
    secret = response.json()
    assert secret["value"].startswith("ek_")
    assert before + 120 <= secret["expires_at"] <= int(time.time()) + 120
    assert secret["session"]["id"].startswith("sess_")
    assert secret["session"]["object"] == "realtime.session"
    assert secret["session"]["instructions"] == SESSION["instructions"]

    async def browser():
        peer = Peer()
        try:
            async with httpx.AsyncClient() as client:
                answer = await client.post(
                    served.base_url + "/realtime/calls",
                    headers={
                        "Authorization": f"Bearer {secret['value']}",
                        "Content-Type": "application/sdp",
                    },
                    content=await peer.offer(),
                )
            assert answer.status_code == 201
            assert answer.headers["content-type"].startswith("application/sdp")
            await peer.answer(answer.text)
            await asyncio.wait_for(peer.opened.wait(), 10)
            call_id = answer.headers["Location"].rsplit("/", 1)[1]
            return call_id, simulator.calls[call_id].session
        finally:
            await peer.close()

    call_id, session = asyncio.run(browser())
    assert call_id.startswith("rtc_")
    # The call runs the session the server put in the secret.
    assert session["id"] == secret["session"]["id"]
    assert session["instructions"] == SESSION["instructions"]
    assert session["audio"]["output"]["voice"] == "marin"


def offer_with(base_url: str, key: str) -> httpx.Response:
    return httpx.post(
        base_url + "/realtime/calls",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
        content="v=0\r\n",
    )


def test_an_sdp_body_needs_a_live_secret(served, monkeypatch):
    served, _ = served
    # Not a secret: the API key alone gives no session for an SDP body.
    assert offer_with(served.base_url, "sk-test").status_code == 401
    assert offer_with(served.base_url, "ek_made_up").status_code == 401
    secret = mint(served.base_url, {"expires_after": {"seconds": 10}, "session": SESSION}).json()[
        "value"
    ]
    refused = offer_with(served.base_url, secret)
    assert refused.status_code == 400  # accepted as a key; "v=0" alone is no usable offer
    assert refused.json()["error"]["code"] == "invalid_offer"
    later = time.time() + 11
    monkeypatch.setattr(api.time, "time", lambda: later)
    expired = offer_with(served.base_url, secret)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "invalid_api_key"


def test_a_secret_cannot_mint_secrets_or_stand_for_the_api_key(served):
    served, _ = served
    secret = mint(served.base_url, {"session": SESSION}).json()["value"]
    assert mint(served.base_url, {"session": SESSION}, key=secret).status_code == 401
    multipart = httpx.post(
        served.base_url + "/realtime/calls",
        headers={"Authorization": f"Bearer {secret}"},
        files={"sdp": (None, "v=0\r\n"), "session": (None, "{}")},
    )
    assert multipart.status_code == 401


@pytest.mark.parametrize(
    "body,code",
    [
        ({}, "invalid_session"),
        ({"session": {"type": "transcription"}}, "invalid_session"),
        ({"session": {"type": "realtime"}}, "invalid_session"),
        ({"session": SESSION, "expires_after": {"seconds": 5}}, "invalid_expires_after"),
        ({"session": SESSION, "expires_after": {"seconds": 7201}}, "invalid_expires_after"),
        (
            {"session": SESSION, "expires_after": {"anchor": "later", "seconds": 60}},
            "invalid_expires_after",
        ),
    ],
)
def test_bad_secret_requests_get_json_errors(served, body, code):
    served, _ = served
    response = mint(served.base_url, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
