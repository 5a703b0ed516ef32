"""An applicant-tracking system's side of the integration, end to end, with nothing but httpx
and the standard library (docs/api.md walks through each step):

1. exchange the API client's id and secret for an access token;
2. create (or update) the candidate by the ATS's own id;
3. register a webhook endpoint for ``summary.ready`` - a small HTTP server of this script's;
4. invite the candidate to an interview (with an Idempotency-Key: safe to retry);
5. wait for the signed ``summary.ready`` webhook about this candidate, checking its
   signature (Standard Webhooks: HMAC-SHA256 over ``id.timestamp.body``);
6. read the session with its summary and print it as one JSON line; remove the endpoint.

    python docs/examples/ats_client.py --base https://interviews.example.com \\
        --client-id cl_... --client-secret sk_... --email ada@example.com \\
        --external-id ats-1842 --public-url https://ats.example.com/hooks

Without --public-url the endpoint is this machine's 127.0.0.1 (a platform in development
mode accepts private addresses; production refuses them).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> dict:
    """The event, if the Standard Webhooks signature is good and fresh; else ValueError."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > tolerance:
        raise ValueError("stale timestamp")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(signed).decode()
    offered = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if "," in s]
    if not any(hmac.compare_digest(expected, sig) for sig in offered):
        raise ValueError("bad signature")
    return json.loads(body)


def receiver(events: queue.Queue, secret_box: dict) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 that puts verified events on ``events``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                event = verify(secret_box["secret"], self.headers, body)
            except (KeyError, ValueError):
                self.send_response(400)
                self.end_headers()
                return
            self.send_response(204)
            self.end_headers()
            events.put(event)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="The platform's address")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--external-id", required=True, help="The candidate's id in the ATS")
    parser.add_argument("--template", help="Template id (default: the first active one)")
    parser.add_argument("--public-url", help="Where the platform can reach this script")
    parser.add_argument("--timeout", type=float, default=600, help="Seconds to wait")
    args = parser.parse_args()

    api = httpx.Client(base_url=args.base.rstrip("/") + "/api/v1/", timeout=30)
    token = api.post(
        "oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": args.client_id,
            "client_secret": args.client_secret,
        },
    )
    token.raise_for_status()
    api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    candidate = api.put(
        f"candidates/by-external-id/{args.external_id}/", json={"email": args.email}
    )
    candidate.raise_for_status()
    candidate_id = candidate.json()["id"]
    template_id = args.template
    if not template_id:
        templates = api.get("templates/").raise_for_status().json()["results"]
        template_id = next(t["id"] for t in templates if t["is_active"])

    events: queue.Queue = queue.Queue()
    secret_box: dict = {}
    server = receiver(events, secret_box)
    url = args.public_url or f"http://127.0.0.1:{server.server_address[1]}/hooks"
    endpoint = api.post("webhooks/", json={"url": url, "events": ["summary.ready"]})
    endpoint.raise_for_status()
    secret_box["secret"] = endpoint.json()["secret"]
    try:
        invitation = api.post(
            "invitations/",
            json={"candidate": candidate_id, "template": template_id},
            headers={"Idempotency-Key": f"invite-{args.external_id}-{uuid.uuid4()}"},
        )
        invitation.raise_for_status()
        print(f"invited {candidate_id}: invitation {invitation.json()['id']}", flush=True)

        deadline = time.monotonic() + args.timeout
        while True:
            event = events.get(timeout=max(0.1, deadline - time.monotonic()))
            if event["type"] == "summary.ready" and event["data"]["candidate_id"] == candidate_id:
                break
        session = api.get(f"sessions/{event['data']['session_id']}/").raise_for_status().json()
        print(json.dumps({"session": session["session"], "summary": session["summary"]}))
        return 0
    except queue.Empty:
        print("no summary.ready event in time", file=sys.stderr)
        return 1
    finally:
        api.delete(f"webhooks/{endpoint.json()['id']}/")
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
