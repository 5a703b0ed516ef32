"""A local fake of Sentry's ingestion endpoint: an HTTP server on 127.0.0.1 that takes the
SDK's envelopes (``POST /api/<project>/envelope/``, gzip- or brotli-compressed or not) and
keeps each one as the raw bytes that were sent (decompressed) and its parsed items, so a test
can search everything that left the process."""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ENVELOPE_PATH = "/api/{project}/envelope/"


@dataclass
class Envelope:
    path: str
    headers: dict
    raw: bytes  # decompressed: what the SDK serialised
    items: list[tuple[dict, bytes]]  # (item header, payload)

    def events(self) -> list[dict]:
        return [json.loads(body) for header, body in self.items if header.get("type") == "event"]


@dataclass
class FakeSentry:
    project: str = "42"
    port: int = 0
    envelopes: list[Envelope] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.port}/{self.project}"

    def raw(self) -> bytes:
        return b"\n".join(envelope.raw for envelope in self.envelopes)

    def events(self) -> list[dict]:
        return [event for envelope in self.envelopes for event in envelope.events()]

    def wait_for_events(self, count: int = 1, seconds: float = 10) -> list[dict]:
        deadline = time.monotonic() + seconds
        while len(self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.events()


def parse_envelope(raw: bytes) -> list[tuple[dict, bytes]]:
    """Sentry's envelope format: a header line, then per item a header line and a payload of
    ``length`` bytes (or up to the next newline when no length is given)."""
    _, _, rest = raw.partition(b"\n")
    items = []
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        length = header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            rest = rest.removeprefix(b"\n")
        items.append((header, payload))
    return items


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        import brotli  # only when the SDK found it installed and used it

        return brotli.decompress(body)
    return body


def _handler(fake: FakeSentry):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path.split("?")[0] != ENVELOPE_PATH.format(project=fake.project):
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            raw = _decompress(body, (self.headers.get("content-encoding") or "").lower())
            headers = {name.lower(): value for name, value in self.headers.items()}
            fake.envelopes.append(Envelope(self.path, headers, raw, parse_envelope(raw)))
            answer = b'{"id":"0"}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def fake_sentry():
    """A fake Sentry at ``fake_sentry.dsn``."""
    fake = FakeSentry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
