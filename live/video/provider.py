"""The video provider behind one small interface: create a private video, issue a delegated
upload token for the browser, read a video's state, delete it, verify a webhook, and manage
the webhook registrations themselves (the video_webhook command). ``ApiVideo``
speaks api.video's REST API; the local fake (devtools.apivideo) serves the same protocol, so
the same client code runs against either - only APIVIDEO_BASE_URL differs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from django.conf import settings

from core.upstream import MISCONFIGURED_STATUSES, retry_after_seconds

logger = logging.getLogger(__name__)

# The one event the platform listens to: each encoded quality of a video (docs/video.md).
WEBHOOK_EVENT_QUALITY_COMPLETED = "video.encoding.quality.completed"


class VideoProviderError(Exception):
    """The provider could not do what was asked."""

    code = "video_upstream_error"
    misconfigured = False  # the platform's setup is at fault: asking again cannot help
    retry_after: float | None = None


class VideoUpstreamRejected(VideoProviderError):
    """The provider answered with an error status (api.video's problem+json title is kept)."""

    def __init__(self, status: int, title: str = "", retry_after: float | None = None):
        super().__init__(f"video provider answered {status}: {title[:200]}")
        self.status = status
        self.title = title[:200]
        self.retry_after = retry_after

    @property
    def misconfigured(self) -> bool:
        # 401/403: the key. 404 is about one video here, not the platform's setup.
        return self.status in MISCONFIGURED_STATUSES - {404}


class VideoUpstreamTimeout(VideoProviderError):
    code = "video_upstream_timeout"


class VideoUpstreamUnavailable(VideoProviderError):
    code = "video_upstream_unavailable"


class VideoNotFound(VideoProviderError):
    code = "video_not_found"


@dataclass(frozen=True)
class UploadToken:
    token: str
    expires_at: datetime | None
    upload_url: str  # where the browser posts the parts (delegated upload)


@dataclass(frozen=True)
class VideoState:
    video_id: str
    playable: bool  # encoded far enough to be played
    uploaded: bool  # the provider has the whole source
    duration_seconds: int | None
    player_url: str = ""
    hls_url: str = ""
    thumbnail_url: str = ""
    mp4_url: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Webhook:
    """A webhook registered at the provider. ``signature_secret`` signs its deliveries; it is
    kept out of the repr so that it cannot end up in a log line by accident."""

    id: str
    url: str
    events: tuple[str, ...]
    signature_secret: str = field(default="", repr=False)


class VideoProvider(ABC):
    name: str

    @abstractmethod
    def create_video(self, title: str) -> str:
        """A new private, empty video; returns its id."""

    @abstractmethod
    def upload_token(self, ttl: int, video_id: str = "") -> UploadToken:
        """A delegated upload token the browser may use for ``ttl`` seconds."""

    @abstractmethod
    def get_video(self, video_id: str) -> VideoState:
        """The video's encoding state, duration and assets (VideoNotFound if it is gone)."""

    @abstractmethod
    def delete_video(self, video_id: str) -> bool:
        """Delete the video; True if it was deleted now, False if it was already gone."""

    @abstractmethod
    def verify_webhook(self, raw_body: bytes, signature: str) -> bool:
        """Whether ``signature`` is the provider's signature of ``raw_body``."""

    @abstractmethod
    def list_webhooks(self, event: str = "") -> list[Webhook]:
        """Every webhook registered at the provider (only those for ``event`` if given)."""

    @abstractmethod
    def create_webhook(self, url: str, events: list[str]) -> Webhook:
        """Register ``url`` for ``events``; the answer carries the new signing secret."""

    @abstractmethod
    def delete_webhook(self, webhook_id: str) -> bool:
        """Unregister a webhook; True if it was deleted now, False if it was already gone."""


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class ApiVideo(VideoProvider):
    """api.video (https://ws.api.video, sandbox https://sandbox.api.video): Basic auth with
    the API key as the user name; delegated uploads at ``/upload?token=...``; webhooks signed
    with HMAC-SHA256 (hex) of the raw body in ``X-Api-Video-Signature``."""

    name = "apivideo"
    webhook_page_size = 100  # api.video's largest page (its default is 25)
    webhook_max_pages = 100  # a paging answer that never ends must not loop forever

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        webhook_secret: str,
        timeout: float,
        connect_timeout: float,
        upload_base_url: str = "",
    ):
        self.base_url = base_url.rstrip("/")
        self.upload_base_url = (upload_base_url or base_url).rstrip("/")
        self._webhook_secret = webhook_secret.encode()
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=httpx.BasicAuth(api_key, ""),
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={"Accept": "application/json"},
        )

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise VideoUpstreamTimeout("the video provider did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise VideoUpstreamUnavailable(
                f"could not reach the video provider: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 400:
            title = ""
            try:
                body = response.json()
                title = str(body.get("title") or body.get("name") or "")
            except (ValueError, AttributeError):
                pass
            if response.status_code == 404:
                raise VideoNotFound(f"the video provider has no {path}")
            raise VideoUpstreamRejected(
                response.status_code, title, retry_after_seconds(response.headers)
            )
        return response

    def _json(self, response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError as exc:
            raise VideoUpstreamRejected(response.status_code, "not JSON") from exc
        if not isinstance(body, dict):
            raise VideoUpstreamRejected(response.status_code, "not a JSON object")
        return body

    def create_video(self, title: str) -> str:
        body = self._json(self._request("POST", "/videos", json={"title": title, "public": False}))
        video_id = str(body.get("videoId") or "")
        if not video_id:
            raise VideoUpstreamRejected(201, "no videoId in the answer")
        return video_id

    def upload_token(self, ttl: int, video_id: str = "") -> UploadToken:
        # api.video's tokens are not bound to a video: the browser names the video it uploads
        # to (the form's ``videoId``).
        body = self._json(self._request("POST", "/upload-tokens", json={"ttl": int(ttl)}))
        token = str(body.get("token") or "")
        if not token:
            raise VideoUpstreamRejected(201, "no token in the answer")
        return UploadToken(
            token=token,
            expires_at=_parse_time(body.get("expiresAt")),
            upload_url=f"{self.upload_base_url}/upload?token={token}",
        )

    def get_video(self, video_id: str) -> VideoState:
        video = self._json(self._request("GET", f"/videos/{video_id}"))
        status = self._json(self._request("GET", f"/videos/{video_id}/status"))
        assets = video.get("assets") or {}
        encoding = status.get("encoding") or {}
        duration = (encoding.get("metadata") or {}).get("duration")
        try:
            duration = round(float(duration)) if duration is not None else None
        except (TypeError, ValueError):
            duration = None
        return VideoState(
            video_id=str(video.get("videoId") or video_id),
            playable=bool(encoding.get("playable")),
            uploaded=(status.get("ingest") or {}).get("status") == "uploaded",
            duration_seconds=duration,
            player_url=str(assets.get("player") or ""),
            hls_url=str(assets.get("hls") or ""),
            thumbnail_url=str(assets.get("thumbnail") or ""),
            mp4_url=str(assets.get("mp4") or ""),
            raw={"video": video, "status": status},
        )

    def delete_video(self, video_id: str) -> bool:
        try:
            self._request("DELETE", f"/videos/{video_id}")
        except VideoNotFound:
            return False  # already gone: what we wanted
        return True

    def verify_webhook(self, raw_body: bytes, signature: str) -> bool:
        if not self._webhook_secret or not signature:
            return False
        expected = hmac.new(self._webhook_secret, raw_body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.strip().lower())

    def list_webhooks(self, event: str = "") -> list[Webhook]:
        webhooks: list[Webhook] = []
        for page in range(1, self.webhook_max_pages + 1):
            params = {"currentPage": page, "pageSize": self.webhook_page_size}
            if event:
                params["events"] = event
            body = self._json(self._request("GET", "/webhooks", params=params))
            data = body.get("data")
            if not isinstance(data, list):
                raise VideoUpstreamRejected(200, "no data list in the answer")
            webhooks.extend(_webhook(item) for item in data if isinstance(item, dict))
            if not data or page >= _pages_total(body):
                break
        return webhooks

    def create_webhook(self, url: str, events: list[str]) -> Webhook:
        body = self._json(
            self._request("POST", "/webhooks", json={"events": list(events), "url": url})
        )
        webhook = _webhook(body)
        if not webhook.id:
            raise VideoUpstreamRejected(201, "no webhookId in the answer")
        return webhook

    def delete_webhook(self, webhook_id: str) -> bool:
        try:
            self._request("DELETE", f"/webhooks/{webhook_id}")
        except VideoNotFound:
            return False  # already gone: what we wanted
        return True

    def close(self) -> None:
        self._client.close()


def _webhook(item: dict) -> Webhook:
    """api.video's webhook object: ``webhookId``, ``url``, ``events``, ``signatureSecret``."""
    events = item.get("events")
    return Webhook(
        id=str(item.get("webhookId") or ""),
        url=str(item.get("url") or ""),
        events=tuple(str(event) for event in events) if isinstance(events, list) else (),
        signature_secret=str(item.get("signatureSecret") or ""),
    )


def _pages_total(body: dict) -> int:
    """The list's page count (``pagination.pagesTotal``); 1 when the answer does not say."""
    pagination = body.get("pagination")
    try:
        return int(pagination.get("pagesTotal"))
    except (AttributeError, TypeError, ValueError):
        return 1


_providers: dict[tuple, VideoProvider] = {}


def get_video_provider() -> VideoProvider:
    """The configured provider (one per settings combination, reused for connection pooling)."""
    key = (
        settings.APIVIDEO_BASE_URL,
        settings.APIVIDEO_API_KEY,
        settings.APIVIDEO_WEBHOOK_SECRET,
        settings.APIVIDEO_UPLOAD_BASE_URL,
        settings.APIVIDEO_TIMEOUT_SECONDS,
    )
    if key not in _providers:
        _providers[key] = ApiVideo(
            base_url=settings.APIVIDEO_BASE_URL,
            api_key=settings.APIVIDEO_API_KEY or "fake",
            webhook_secret=settings.APIVIDEO_WEBHOOK_SECRET,
            timeout=settings.APIVIDEO_TIMEOUT_SECONDS,
            connect_timeout=settings.APIVIDEO_CONNECT_TIMEOUT_SECONDS,
            upload_base_url=settings.APIVIDEO_UPLOAD_BASE_URL,
        )
    return _providers[key]
