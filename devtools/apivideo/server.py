"""A local fake of api.video's REST API, enough for the platform's video path:

- ``POST /upload-tokens {"ttl"}`` -> ``{token, ttl, createdAt, expiresAt}``
- ``POST /videos {"title", "public"}`` -> a video object (``videoId``, ``assets``...)
- ``POST /upload?token=...`` (multipart ``file``, optional ``videoId``) with
  ``Content-Range: part N/*`` for each part of a progressive upload and ``part N/N`` for the
  last; without the header the file is the whole video. Parts are stored on disk; once the
  last one is in, the video is "encoded" and a signed ``video.encoding.quality.completed``
  webhook goes out per quality (``X-Api-Video-Signature``: hex HMAC-SHA256 of the body).
- ``GET /videos/{id}``, ``GET /videos/{id}/status``, ``DELETE /videos/{id}`` (204; 404 if
  unknown), and the assets: ``/vod/{id}`` (player page), ``/vod/{id}/mp4`` (the bytes).
- ``POST /webhooks {"events", "url"}`` -> 201 ``{webhookId, createdAt, events, url,
  signatureSecret}``, ``GET /webhooks`` (``events``, ``currentPage``, ``pageSize`` ->
  ``{data, pagination}``), ``GET /webhooks/{id}``, ``DELETE /webhooks/{id}`` (204; 404).

Webhooks go to the ``webhook_url`` the fake was started with (signed with ``webhook_secret``)
and, as at api.video, to every URL registered through ``POST /webhooks`` for the event, each
signed with that registration's own ``signatureSecret`` (a registered URL that is also the
start-up one gets one delivery, with the registration's secret).

Every API route wants an ``Authorization`` header (Basic with the key, any key unless
``api_key`` is set); uploads
want a live token instead, as at api.video. Errors are problem+json like api.video's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

logger = logging.getLogger("devtools.apivideo")

PART_RANGE = re.compile(r"^part (\d+)/(\d+|\*)$")
MAX_PART_BYTES = 256 * 1024 * 1024
QUALITIES = ("360p", "720p")
WEBHOOK_EVENTS = frozenset(
    {
        "video.encoding.quality.completed",
        "video.source.recorded",
        "live-stream.broadcast.started",
        "live-stream.broadcast.ended",
        "video.caption.generated",
    }
)
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _problem(status: int, title: str) -> web.Response:
    return web.json_response(
        {"type": "https://docs.api.video/reference", "title": title, "status": status},
        status=status,
        content_type="application/problem+json",
    )


@web.middleware
async def _cors(request: web.Request, handler) -> web.StreamResponse:
    """Browsers upload from the platform's origin, as to api.video's upload host (which
    answers CORS for any origin): the preflight and the answers allow it."""
    response = await handler(request)
    if request.path == "/upload":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Range, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


@dataclass
class FakeVideo:
    video_id: str
    title: str
    created_at: datetime
    parts: dict[int, int] = field(default_factory=dict)  # part number -> bytes
    last_part: int | None = None
    encoded: bool = False
    duration: int | None = None


@dataclass
class Webhook:
    """One delivery: made for every target of an event, sent when it has a URL."""

    body: bytes
    signature: str
    url: str = ""  # empty: the fake was started without a webhook URL (kept, not sent)
    delivered: bool = False


@dataclass
class Registration:
    """A webhook registered through ``POST /webhooks``."""

    webhook_id: str
    url: str
    events: list[str]
    signature_secret: str
    created_at: datetime

    def as_json(self) -> dict:
        return {
            "webhookId": self.webhook_id,
            "createdAt": self.created_at.isoformat(),
            "events": list(self.events),
            "url": self.url,
            "signatureSecret": self.signature_secret,
        }


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FakeApiVideo:
    """The fake's state: tokens, videos, their parts on disk and the webhooks it sent."""

    def __init__(
        self,
        data_dir: Path,
        *,
        webhook_url: str = "",
        webhook_secret: str = "",
        seconds_per_part: int = 5,
        webhook_retry_delay: float = 3.0,
    ):
        self.data_dir = Path(data_dir)
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.seconds_per_part = seconds_per_part
        self.webhook_retry_delay = webhook_retry_delay
        self.tokens: dict[str, datetime] = {}
        self.videos: dict[str, FakeVideo] = {}
        self.webhooks: list[Webhook] = []  # every webhook made, delivered or not
        self.registrations: dict[str, Registration] = {}  # POST /webhooks, in creation order
        self.deleted: list[str] = []
        self.fail_deletes = 0  # answer this many DELETEs with a 500 (tests)
        self.fail_uploads = 0  # answer this many uploads with a 500 (tests)
        self.refused_uploads = 0  # uploads refused for an unknown or expired token
        self.api_key = ""  # set: only this key is accepted, as api.video refuses unknown keys
        self.base_url = ""
        self._sending: set[asyncio.Task] = set()

    # --- the application ---------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_PART_BYTES, middlewares=[_cors])
        app.add_routes(
            [
                web.post("/upload-tokens", self.create_token),
                web.post("/videos", self.create_video),
                web.get("/videos/{video_id}", self.get_video),
                web.get("/videos/{video_id}/status", self.get_status),
                web.delete("/videos/{video_id}", self.delete_video),
                web.post("/upload", self.upload),
                web.options("/upload", self.upload_preflight),
                web.get("/vod/{video_id}", self.player),
                web.get("/vod/{video_id}/mp4", self.mp4),
                web.get("/vod/{video_id}/thumbnail.jpg", self.thumbnail),
                web.post("/webhooks", self.create_webhook),
                web.get("/webhooks", self.list_webhooks),
                web.get("/webhooks/{webhook_id}", self.get_webhook),
                web.delete("/webhooks/{webhook_id}", self.delete_webhook),
            ]
        )
        app.on_shutdown.append(self._shutdown)
        return app

    async def _shutdown(self, app) -> None:
        for task in list(self._sending):
            task.cancel()

    def _authorized(self, request: web.Request) -> bool:
        """Basic auth with the key as the user name; any key unless ``api_key`` is set."""
        header = request.headers.get("Authorization", "")
        if not header or not self.api_key:
            return bool(header)
        try:
            return aiohttp.BasicAuth.decode(header).login == self.api_key
        except ValueError:
            return False

    def _base(self, request: web.Request) -> str:
        return self.base_url or f"{request.scheme}://{request.host}"

    def _video_json(self, request: web.Request, video: FakeVideo) -> dict:
        base = f"{self._base(request)}/vod/{video.video_id}"
        return {
            "videoId": video.video_id,
            "title": video.title,
            "public": False,
            "createdAt": video.created_at.isoformat(),
            "assets": {
                "player": base,
                "hls": f"{base}/hls/manifest.m3u8",
                "thumbnail": f"{base}/thumbnail.jpg",
                "mp4": f"{base}/mp4",
                "iframe": f'<iframe src="{base}" width="100%" height="100%"></iframe>',
            },
        }

    def _video_dir(self, video_id: str) -> Path:
        return self.data_dir / video_id

    # --- the API -----------------------------------------------------------------------------

    async def create_token(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthorized")
        try:
            body = await request.json()
            ttl = int(body.get("ttl") or 0)
        except (ValueError, TypeError, AttributeError):
            return _problem(400, "The request body is invalid.")
        token = "to" + secrets.token_hex(10)
        created = _now()
        expires = created + timedelta(seconds=ttl) if ttl else None
        self.tokens[token] = expires or datetime.max.replace(tzinfo=UTC)
        return web.json_response(
            {
                "token": token,
                "ttl": ttl,
                "createdAt": created.isoformat(),
                "expiresAt": expires.isoformat() if expires else None,
            }
        )

    def _new_video(self, title: str) -> FakeVideo:
        video = FakeVideo(video_id="vi" + secrets.token_hex(10), title=title, created_at=_now())
        self.videos[video.video_id] = video
        return video

    async def create_video(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthorized")
        try:
            body = await request.json()
            title = str(body["title"])
        except (ValueError, TypeError, KeyError):
            return _problem(400, "The title field is required.")
        video = self._new_video(title)
        return web.json_response(self._video_json(request, video), status=201)

    def _known(self, request: web.Request) -> FakeVideo | None:
        if not self._authorized(request):
            return None
        return self.videos.get(request.match_info["video_id"])

    async def get_video(self, request: web.Request) -> web.StreamResponse:
        video = self._known(request)
        if video is None:
            return _problem(404, "The requested resource was not found.")
        return web.json_response(self._video_json(request, video))

    async def get_status(self, request: web.Request) -> web.StreamResponse:
        video = self._known(request)
        if video is None:
            return _problem(404, "The requested resource was not found.")
        received = sum(video.parts.values())
        complete = video.encoded
        ingest = "uploaded" if complete else ("uploading" if video.parts else "missing")
        return web.json_response(
            {
                "ingest": {"status": ingest, "filesize": received if complete else None},
                "encoding": {
                    "playable": complete,
                    "qualities": [
                        {"quality": q, "status": "encoded" if complete else "waiting"}
                        for q in QUALITIES
                    ],
                    "metadata": {"duration": video.duration, "videoCodec": "h264"}
                    if complete
                    else {},
                },
            }
        )

    async def delete_video(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthorized")
        if self.fail_deletes > 0:
            self.fail_deletes -= 1
            return _problem(500, "Internal error")
        video_id = request.match_info["video_id"]
        video = self.videos.pop(video_id, None)
        if video is None:
            return _problem(404, "The requested resource was not found.")
        for path in sorted(self._video_dir(video_id).glob("*")):
            path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self._video_dir(video_id).rmdir()
        self.deleted.append(video_id)
        return web.Response(status=204)

    async def upload_preflight(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    async def upload(self, request: web.Request) -> web.StreamResponse:
        if self.fail_uploads > 0:
            self.fail_uploads -= 1
            return _problem(500, "Internal error")
        expires = self.tokens.get(request.query.get("token", ""))
        if expires is None or expires < _now():
            self.refused_uploads += 1
            return _problem(401, "The upload token is invalid or has expired.")
        match = PART_RANGE.match(request.headers.get("Content-Range", "part 1/1"))
        if not match:
            return _problem(400, "Content-Range must be 'part N/*' or 'part N/N'.")
        part, total = int(match[1]), match[2]
        if part < 1 or (total != "*" and int(total) != part):
            return _problem(400, "The last part is 'part N/N'.")
        data, video_id = None, ""
        reader = await request.multipart()
        async for field_part in reader:
            if field_part.name == "file":
                data = await field_part.read()
            elif field_part.name == "videoId":
                video_id = (await field_part.text()).strip()
        if data is None:
            return _problem(400, "The file field is required.")
        video = self.videos.get(video_id) if video_id else self._new_video("upload")
        if video is None:
            return _problem(404, "The requested resource was not found.")
        folder = self._video_dir(video.video_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"part-{part:05d}").write_bytes(data)
        video.parts[part] = len(data)
        if total != "*":
            video.last_part = part
        if video.last_part and set(video.parts) >= set(range(1, video.last_part + 1)):
            self._encode(video)
        return web.json_response(self._video_json(request, video), status=201)

    def _encode(self, video: FakeVideo) -> None:
        """All the parts are in: the source is their concatenation, "encoded" at once."""
        if video.encoded:
            return
        folder = self._video_dir(video.video_id)
        with (folder / "source.mp4").open("wb") as source:
            for number in range(1, video.last_part + 1):
                part = folder / f"part-{number:05d}"
                source.write(part.read_bytes())
                part.unlink()
        video.encoded = True
        video.duration = video.last_part * self.seconds_per_part
        for quality in QUALITIES:
            self._webhook(
                {
                    "type": "video.encoding.quality.completed",
                    "emittedAt": _now().isoformat(),
                    "videoId": video.video_id,
                    "liveStreamId": None,
                    "encoding": "hls",
                    "quality": quality,
                }
            )

    # --- registering webhooks ----------------------------------------------------------------

    async def create_webhook(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthorized")
        try:
            body = await request.json()
            url, events = body["url"], body["events"]
        except (ValueError, TypeError, KeyError):
            return _problem(400, "The url and events fields are required.")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _problem(400, "The url field must be an http(s) URL.")
        if (
            not isinstance(events, list)
            or not events
            or not all(event in WEBHOOK_EVENTS for event in events)
        ):
            return _problem(400, "The events field must list known webhook events.")
        registration = Registration(
            webhook_id="webhook_" + secrets.token_hex(10),
            url=url,
            events=list(dict.fromkeys(events)),
            signature_secret="sig_sec_" + secrets.token_hex(16),
            created_at=_now(),
        )
        self.registrations[registration.webhook_id] = registration
        return web.json_response(registration.as_json(), status=201)

    async def list_webhooks(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthorized")
        try:
            page = int(request.query.get("currentPage", 1))
            size = int(request.query.get("pageSize", DEFAULT_PAGE_SIZE))
        except ValueError:
            return _problem(400, "currentPage and pageSize must be integers.")
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return _problem(400, f"currentPage >= 1, pageSize between 1 and {MAX_PAGE_SIZE}.")
        event = request.query.get("events", "")
        matching = [r for r in self.registrations.values() if not event or event in r.events]
        items = matching[(page - 1) * size : page * size]
        pages = max(1, -(-len(matching) // size))
        return web.json_response(
            {
                "data": [registration.as_json() for registration in items],
                "pagination": {
                    "currentPage": page,
                    "currentPageItems": len(items),
                    "pageSize": size,
                    "pagesTotal": pages,
                    "itemsTotal": len(matching),
                    "links": self._page_links(page, pages, size),
                },
            }
        )

    @staticmethod
    def _page_links(page: int, pages: int, size: int) -> list[dict]:
        def link(rel: str, number: int) -> dict:
            return {"rel": rel, "uri": f"/webhooks?currentPage={number}&pageSize={size}"}

        links = [link("self", page), link("first", 1)]
        if page > 1:
            links.append(link("previous", page - 1))
        if page < pages:
            links.append(link("next", page + 1))
        return [*links, link("last", pages)]

    async def get_webhook(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthorized")
        registration = self.registrations.get(request.match_info["webhook_id"])
        if registration is None:
            return _problem(404, "The requested resource was not found.")
        return web.json_response(registration.as_json())

    async def delete_webhook(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _problem(401, "Unauthorized")
        if self.registrations.pop(request.match_info["webhook_id"], None) is None:
            return _problem(404, "The requested resource was not found.")
        return web.Response(status=204)

    # --- sending webhooks --------------------------------------------------------------------

    def sign(self, body: bytes) -> str:
        """The signature with the start-up secret (``webhook_secret``)."""
        return _sign(self.webhook_secret, body)

    def _targets(self, event_type: str) -> list[tuple[str, str]]:
        """(url, secret) for each delivery of ``event_type``: every registration for it, and
        the start-up URL unless a registration already covers it."""
        targets = [
            (registration.url, registration.signature_secret)
            for registration in self.registrations.values()
            if event_type in registration.events
        ]
        if all(url != self.webhook_url for url, _ in targets):
            targets.insert(0, (self.webhook_url, self.webhook_secret))
        return targets

    def _webhook(self, event: dict) -> None:
        body = json.dumps(event).encode()
        for url, secret in self._targets(event["type"]):
            webhook = Webhook(body=body, signature=_sign(secret, body), url=url)
            self.webhooks.append(webhook)
            if url:
                task = asyncio.ensure_future(self._deliver(webhook))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    async def _deliver(self, webhook: Webhook) -> None:
        """As api.video: up to three retries, a few seconds apart, on any status above 299."""
        headers = {
            "Content-Type": "application/json",
            "X-Api-Video-Signature": webhook.signature,
        }
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as client:
            for attempt in range(4):
                if attempt:
                    await asyncio.sleep(self.webhook_retry_delay)
                try:
                    async with client.post(
                        webhook.url, data=webhook.body, headers=headers
                    ) as response:
                        if response.status < 300:
                            webhook.delivered = True
                            return
                        logger.warning("webhook answered %s", response.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    logger.warning("webhook not delivered: %s", type(exc).__name__)

    # --- the assets --------------------------------------------------------------------------

    async def player(self, request: web.Request) -> web.StreamResponse:
        video = self.videos.get(request.match_info["video_id"])
        if video is None:
            return web.Response(status=404, text="no such video")
        html = (
            "<!doctype html><title>Recording</title>"
            f'<video controls src="/vod/{video.video_id}/mp4" style="width:100%"></video>'
        )
        return web.Response(text=html, content_type="text/html")

    async def mp4(self, request: web.Request) -> web.StreamResponse:
        video = self.videos.get(request.match_info["video_id"])
        source = self._video_dir(video.video_id) / "source.mp4" if video else None
        if source is None or not source.exists():
            return web.Response(status=404, text="no such video")
        return web.FileResponse(source, headers={"Content-Type": "video/mp4"})

    async def thumbnail(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["video_id"] not in self.videos:
            return web.Response(status=404, text="no such video")
        return web.Response(body=b"", content_type="image/jpeg")


async def serve(host: str, port: int, fake: FakeApiVideo) -> web.AppRunner:
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
