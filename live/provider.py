"""The realtime provider behind one small interface: create a call, attach to its sideband,
hang up. `OpenAIRealtime` speaks OpenAI's GA Realtime API; the simulator
(devtools.simulator) serves the same HTTP and WebSocket protocol locally, so the
same client code runs against either - only OPENAI_BASE_URL differs.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import websockets
from django.conf import settings

from core.upstream import MISCONFIGURED_CODES, MISCONFIGURED_STATUSES, retry_after_seconds

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """The provider could not create or manage the call."""

    code = "upstream_error"
    misconfigured = False  # the platform's setup is at fault: asking again cannot help
    rate_limited = False
    retry_after: float | None = None  # seconds the provider asked us to wait


# Answers about the platform's own account or setup (core.upstream.MISCONFIGURED_CODES and
# MISCONFIGURED_STATUSES) are not about this call: asking again cannot help. Any other 4xx - a
# 400 about this browser's offer, say - is about the call: a plain upstream error. 429 is a
# rate limit (wait and ask again) unless the account's quota or billing is spent.
class UpstreamRejected(ProviderError):
    """The provider answered with an error status (its JSON error is kept, minus secrets)."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"provider answered {status}: {code}")
        self.status = status
        self.code = code or "upstream_rejected"
        self.message = message
        self.retry_after = retry_after

    @property
    def misconfigured(self) -> bool:
        """The platform's configuration is at fault (a bad or revoked key, a project without
        access to the model, no quota left): every call gets the same answer however often it
        is sent, so it is not retried and the operators are told. Judged by the status and the
        provider's known codes only: a refusal of this one call is not the platform's fault."""
        return self.status in MISCONFIGURED_STATUSES or self.code in MISCONFIGURED_CODES

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 and not self.misconfigured


class UpstreamTimeout(ProviderError):
    code = "upstream_timeout"


class UpstreamUnavailable(ProviderError):
    code = "upstream_unavailable"


@dataclass(frozen=True)
class Call:
    call_id: str
    answer_sdp: str


class Sideband(ABC):
    """A server-side connection to a live call: every event of the call comes in, and the
    server may send session.update, conversation.item.create and response.create."""

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[dict]: ...

    @abstractmethod
    async def send(self, event: dict) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...


class RealtimeProvider(ABC):
    name: str

    @abstractmethod
    async def create_call(self, *, offer_sdp: str, session: dict) -> Call: ...

    @abstractmethod
    async def attach(self, call_id: str) -> Sideband: ...

    @abstractmethod
    async def hangup(self, call_id: str) -> None: ...

    async def aclose(self) -> None:  # noqa: B027 (optional: providers without resources)
        """Release what the provider holds for the running event loop."""


class _WebSocketSideband(Sideband):
    def __init__(self, connection):
        self._connection = connection

    async def __aiter__(self):
        async for message in self._connection:
            try:
                event = json.loads(message)
            except (TypeError, ValueError):
                logger.warning("sideband: ignoring a message that is not JSON")
                continue
            if isinstance(event, dict):
                yield event

    async def send(self, event: dict) -> None:
        await self._connection.send(json.dumps(event))

    async def close(self) -> None:
        await self._connection.close()


def _error_from(status: int, body: bytes, headers=None) -> UpstreamRejected:
    code, message = "upstream_rejected", ""
    try:
        error = json.loads(body).get("error") or {}
        code = str(error.get("code") or error.get("type") or code)[:64]
        message = str(error.get("message") or "")[:300]
    except (ValueError, AttributeError):
        pass
    return UpstreamRejected(status, code, message, retry_after=retry_after_seconds(headers))


class OpenAIRealtime(RealtimeProvider):
    """OpenAI Realtime (GA): POST {base}/realtime/calls (multipart sdp + session), sideband
    wss {base}/realtime?call_id=..., POST {base}/realtime/calls/{id}/hangup."""

    name = "openai"

    def __init__(self, *, base_url: str, api_key: str, timeout: float, connect_timeout: float):
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._connect_timeout = connect_timeout
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @property
    def client(self) -> aiohttp.ClientSession:
        # One pooled HTTP client per event loop (a client cannot move between loops). aiohttp
        # rather than httpx: its connection pool stays cheap with hundreds of calls in flight.
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.closed:
            client = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=1000, limit_per_host=1000),
            )
            self._clients[loop] = client
        return client

    async def _post(self, url: str, data=None) -> tuple[int, dict, bytes]:
        try:
            async with self.client.post(url, data=data) as response:
                return response.status, dict(response.headers), await response.read()
        except TimeoutError as exc:
            raise UpstreamTimeout("the provider did not answer in time") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(
                f"could not reach the provider: {type(exc).__name__}"
            ) from exc

    async def create_call(self, *, offer_sdp: str, session: dict) -> Call:
        # Two plain form fields (no filename), the offer byte for byte, as `curl -F
        # "sdp=<offer.sdp;type=application/sdp"` sends them.
        form = aiohttp.MultipartWriter("form-data")
        for name, payload, content_type in (
            ("sdp", offer_sdp.encode(), "application/sdp"),
            ("session", json.dumps(session).encode(), "application/json"),
        ):
            part = form.append(payload, {"Content-Type": content_type})
            part.set_content_disposition("form-data", name=name)
        status, headers, body = await self._post(f"{self.base_url}/realtime/calls", form)
        if status != 201:
            raise _error_from(status, body, headers)
        call_id = headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        answer = body.decode("utf-8", "replace")
        if not call_id or not answer.startswith("v=0"):
            raise UpstreamRejected(status, "bad_upstream_answer", "")
        return Call(call_id=call_id, answer_sdp=answer)

    def sideband_url(self, call_id: str) -> str:
        parts = urlsplit(self.base_url)
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
        path = parts.path.rstrip("/") + "/realtime"
        return urlunsplit((scheme, parts.netloc, path, f"call_id={call_id}", ""))

    async def attach(self, call_id: str) -> Sideband:
        try:
            connection = await websockets.connect(
                self.sideband_url(call_id),
                additional_headers=self._headers,
                open_timeout=self._connect_timeout,
                max_size=2**22,
                # No permessage-deflate: its compression state costs tens of KB per call
                # (a worker follows hundreds) and CPU for every event, and the sideband's
                # events are small JSON (no audio).
                compression=None,
            )
        except (OSError, websockets.WebSocketException, TimeoutError) as exc:
            raise UpstreamUnavailable(f"sideband connect failed: {type(exc).__name__}") from exc
        return _WebSocketSideband(connection)

    async def aclose(self) -> None:
        """Close this event loop's HTTP client (for callers whose loop is about to end)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    async def hangup(self, call_id: str) -> None:
        status, _, body = await self._post(f"{self.base_url}/realtime/calls/{call_id}/hangup")
        # 404: the call is already over, which is what we wanted.
        if status >= 400 and status != 404:
            raise _error_from(status, body)


_providers: dict[tuple, RealtimeProvider] = {}


class UnclosedClientNoise(logging.Filter):
    """Drops asyncio's reports of HTTP clients left open. A web process keeps one client per
    event loop for its whole life, and daphne gives an application no shutdown hook, so the
    clients are still open when the process exits (the system closes their sockets)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Unclosed client session", "Unclosed connector"))


@atexit.register
def _quiet_exit() -> None:
    logging.getLogger("asyncio").addFilter(UnclosedClientNoise())


def get_provider() -> RealtimeProvider:
    """The configured provider (one per settings combination, reused for connection pooling)."""
    key = (settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, settings.REALTIME_TIMEOUT_SECONDS)
    if key not in _providers:
        _providers[key] = OpenAIRealtime(
            base_url=settings.OPENAI_BASE_URL,
            api_key=settings.OPENAI_API_KEY or "simulator",
            timeout=settings.REALTIME_TIMEOUT_SECONDS,
            connect_timeout=settings.REALTIME_CONNECT_TIMEOUT_SECONDS,
        )
    return _providers[key]
