"""The HTTP side of a delivery: one signed POST to a checked address."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass

import httpx
from django.conf import settings

from .destinations import Destination

USER_AGENT = "interview-platform-webhooks/1"


@dataclass(frozen=True)
class Response:
    """What an attempt came to: the status code, or an error when there was no answer."""

    status_code: int | None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process (the CA bundle is read once: about 30 ms each time). Each
    delivery still gets a client, and so connections, of its own: a pool shared between
    endpoints could reuse a connection opened for another name on the same address."""
    return httpx.create_ssl_context(trust_env=False)


def post(destination: Destination, *, body: bytes, headers: dict) -> Response:
    """POST ``body`` to ``destination``. Redirects are not followed (a 3xx is a failure: the
    new location was never checked) and proxies from the environment are ignored (the
    connection must go to the address that was checked)."""
    request_headers = {
        **headers,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    extensions = {}
    if destination.address is not None:
        # Connecting to the checked address; the Host header and TLS (SNI, certificate) still
        # use the name the endpoint was registered with.
        port = httpx.URL(destination.url).port
        request_headers["host"] = f"{destination.host}:{port}" if port else destination.host
        extensions["sni_hostname"] = destination.host
    timeout = httpx.Timeout(
        settings.WEBHOOKS_TIMEOUT_SECONDS, connect=settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS
    )
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls()
        ) as client:
            response = client.post(
                destination.url, content=body, headers=request_headers, extensions=extensions
            )
    except httpx.TimeoutException:
        return Response(None, "The endpoint did not answer in time.")
    except httpx.HTTPError as exc:
        return Response(None, f"Could not connect: {type(exc).__name__}.")
    if 300 <= response.status_code < 400:
        return Response(response.status_code, "Redirects are not followed.")
    return Response(response.status_code)
