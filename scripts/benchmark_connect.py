"""Benchmark: connecting, as candidates feel it. Headless WebRTC clients (aiortc, the library
the simulator's peer uses) connect to the interview simulator - a real WebRTC peer - with
network delay added on the provider's side, through the platform's SDP proxy and through
OpenAI's reference flow for browsers, in the same run.

    scripts/benchmark connect            # bootstraps, then runs this
    .venv/bin/python scripts/benchmark_connect.py [--connects 100] [--candidates 50]
        [--delay 0.150] [--write docs/benchmarks.md]

The clock runs from the click (the candidate starts the interview) to the ``oai-events`` data
channel being open, as a browser's page would see it:

- ours: create the offer, post it to the platform's SDP proxy (daphne, Django, PostgreSQL and
  Redis as in production, ``POST /api/candidate/sessions/<id>/sdp/``, a fresh session each
  time); the proxy posts it to the provider (multipart ``sdp`` + ``session``) and returns the
  answer; the client sets the answer and waits for the channel;
- reference: the app server mints an ephemeral client secret (``POST
  /v1/realtime/client_secrets`` with the API key and the session's configuration), while the
  client creates its offer; the client then posts the offer to ``/v1/realtime/calls`` itself
  (``Content-Type: application/sdp``, ``Bearer ek_...``). This script makes the
  client_secrets request itself, as the app server would: the hop from the page to the app
  server for the secret is left out, which favours the reference (ours keeps its hop).

The network delay: every HTTP request to the provider waits ``--delay`` (150 ms) inside the
provider's process, half before it is handled and half after (an aiohttp middleware in front
of the simulator's routes): one round trip per request, whoever sends it. The WebRTC media path
(ICE, DTLS, SCTP) is on this machine and is not delayed, in both flows alike.

Then the connection stress: ``--candidates`` (50) clients connect through the proxy at once,
``--stress-rounds`` (2) times; connect times p50/p99 beside a single candidate's (the
one-at-a-time figures of the comparison above), and every failure counted.

Goal (issue #17): ours <= 0.6x the reference (p50), and no failure under the stress.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform as std_platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
sys.path.insert(0, str(BASE / "scripts"))

from benchlib import bench_environment, free_port, percentile, wait_port, write_results  # noqa: E402

API_KEY = "sk-bench"
OPEN_TIMEOUT = 30.0


# --- The provider: the simulator behind a network delay --------------------------------------


def serve_simulator(port: int, delay: float) -> None:
    """The simulator's HTTP API with ``delay`` added to every request, half on the way in and
    half on the way out."""
    from aiohttp import web

    from devtools.simulator.api import Simulator

    logging.getLogger("aiortc").setLevel(logging.ERROR)

    handled: dict[str, list[float]] = {}  # seconds the provider spent on each kind of request

    @web.middleware
    async def network_delay(request, handler):
        if request.path == "/bench/handled":
            return await handler(request)
        await asyncio.sleep(delay / 2)
        started = time.perf_counter()
        response = await handler(request)
        kind = f"{request.path} {request.content_type.split('/')[0]}"
        handled.setdefault(kind, []).append(time.perf_counter() - started)
        await asyncio.sleep(delay / 2)
        return response

    async def report_handled(request):
        """What the provider spent so far, by request kind; then it starts counting anew."""
        answer = web.json_response(handled)
        handled.clear()
        return answer

    app = Simulator().app()
    app.middlewares.append(network_delay)
    app.router.add_get("/bench/handled", report_handled)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- The candidate's side ---------------------------------------------------------------------


class Client:
    """A headless browser's WebRTC side: an audio transceiver (the microphone's place; no
    track, so no CPU on encoding) and the ``oai-events`` channel."""

    def __init__(self):
        from aiortc import RTCConfiguration, RTCPeerConnection

        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTransceiver("audio", direction="sendrecv")
        self.channel = self.pc.createDataChannel("oai-events")
        self.opened = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.marks: dict[str, float] = {"click": time.perf_counter()}

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.marks["offer"] = time.perf_counter()
        return self.pc.localDescription.sdp

    async def connected(self, answer: str) -> None:
        from aiortc import RTCSessionDescription

        self.marks["answer"] = time.perf_counter()
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await asyncio.wait_for(self.opened.wait(), OPEN_TIMEOUT)
        self.marks["open"] = time.perf_counter()

    def phases(self) -> dict[str, float]:
        """Seconds from the click to the offer, from the offer to the answer (the HTTP part:
        the proxy, or the secret and the offer's post) and from the answer to the open
        channel (ICE, DTLS, SCTP)."""
        marks = self.marks
        return {
            "offer": marks["offer"] - marks["click"],
            "answer": marks["answer"] - marks["offer"],
            "handshake": marks["open"] - marks["answer"],
        }

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()


async def _post_sdp(http, url: str, token: str, offer: str) -> str:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"}
    async with http.post(url, data=offer.encode(), headers=headers) as response:
        body = await response.text()
        if response.status != 201:
            raise RuntimeError(f"{url} answered {response.status}: {body[:200]}")
        return body


async def connect_ours(http, proxy: str, session: tuple[str, str]) -> tuple[float, Client]:
    """Click -> channel open through the platform's SDP proxy; returns seconds and the client
    (still connected)."""
    session_id, token = session
    client = Client()
    started = client.marks["click"]
    try:
        offer = await client.offer()
        answer = await _post_sdp(
            http, f"{proxy}/api/candidate/sessions/{session_id}/sdp/", token, offer
        )
        await client.connected(answer)
    except BaseException:
        await client.close()
        raise
    return time.perf_counter() - started, client


async def connect_reference(http, provider: str, config: dict) -> tuple[float, Client]:
    """Click -> channel open through OpenAI's reference flow: the secret is minted while the
    offer is created, then the client posts the offer to the provider itself."""
    client = Client()
    started = client.marks["click"]

    async def mint() -> str:
        body = {"expires_after": {"anchor": "created_at", "seconds": 600}, "session": config}
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with http.post(
            f"{provider}/realtime/client_secrets", json=body, headers=headers
        ) as r:
            if r.status != 200:
                raise RuntimeError(f"client_secrets answered {r.status}: {await r.text()}")
            return (await r.json())["value"]

    try:
        secret, offer = await asyncio.gather(mint(), client.offer())
        answer = await _post_sdp(http, f"{provider}/realtime/calls", secret, offer)
        await client.connected(answer)
    except BaseException:
        await client.close()
        raise
    return time.perf_counter() - started, client


async def measure(proxy: str, provider: str, sessions, config: dict, args, server_log=None) -> dict:
    import aiohttp

    sessions = iter(sessions)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as http:
        paths = {
            "ours": lambda: connect_ours(http, proxy, next(sessions)),
            "reference": lambda: connect_reference(http, provider, config),
        }
        results = {"ours": [], "reference": [], "stress": [], "stress_failures": [], "phases": {}}
        for _ in range(3):  # warm up: imports, pools, connections
            for connect in paths.values():
                _, client = await connect()
                await client.close()
        for index in range(args.connects):  # one at a time, alternating which goes first
            for name in ("ours", "reference") if index % 2 == 0 else ("reference", "ours"):
                seconds, client = await paths[name]()
                results[name].append(seconds)
                for phase, spent in client.phases().items():
                    results["phases"].setdefault((name, phase), []).append(spent)
                await client.close()
                await asyncio.sleep(0.1)
        async with http.get(provider.removesuffix("/v1") + "/bench/handled") as response:
            results["provider"] = await response.json()  # one at a time (and the warm-up)
        results["view"] = view_durations(server_log) if server_log else []
        await asyncio.sleep(2)
        for _ in range(args.stress_rounds):
            outcomes = await asyncio.gather(
                *(paths["ours"]() for _ in range(args.candidates)), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    results["stress_failures"].append(f"{type(outcome).__name__}: {outcome}")
                else:
                    results["stress"].append(outcome[0])
                    for phase, spent in outcome[1].phases().items():
                        results["phases"].setdefault(("stress", phase), []).append(spent)
            await asyncio.gather(
                *(o[1].close() for o in outcomes if not isinstance(o, BaseException))
            )
            await asyncio.sleep(3)
        return results


def view_durations(log) -> list[float]:
    """The SDP proxy's own times so far (seconds), as the platform logs each request
    (config.middleware.RequestIdMiddleware's ``duration_ms``: from the middleware to the
    response, inside Django)."""
    log.flush()
    log.seek(0)
    durations = []
    for line in log.read().splitlines():
        if '"duration_ms"' in line and "/sdp/" in line:
            with contextlib.suppress(ValueError, KeyError):
                durations.append(json.loads(line)["duration_ms"] / 1000)
    log.seek(0, 2)
    return durations


def prepare(count: int) -> tuple[list[tuple[str, str]], dict]:
    """Sessions as in scripts/benchmark_sdp.py, and the configuration they were created with
    (what the reference flow's server puts in the client secret)."""
    from benchmark_sdp import prepare_database

    sessions = prepare_database(count)  # sets Django up
    from core import rls
    from interviews.models import InterviewSession
    from live.tokens import session_token_read

    with rls.tenant_context(session_token_read(sessions[0][1]).tenant_id):
        config = InterviewSession.objects.get(pk=sessions[0][0]).realtime_config
    if not config:
        raise RuntimeError("sessions are created without their configuration")
    return sessions, config


def report(results: dict, args) -> tuple[str, bool]:
    ms = {
        name: [v * 1000 for v in values]
        for name, values in results.items()
        if name not in ("stress_failures", "phases", "provider", "view")
    }
    phase = {key: statistics.median(values) * 1000 for key, values in results["phases"].items()}
    multipart = results["provider"].get("/v1/realtime/calls multipart", [0.0])
    proxy_share = (
        phase[("ours", "answer")] - args.delay * 1000 - statistics.median(multipart) * 1000
    )
    view_share = (
        statistics.median(results["view"]) * 1000
        - args.delay * 1000
        - statistics.median(multipart) * 1000
        if results.get("view")
        else None
    )
    p50 = {name: percentile(values, 50) for name, values in ms.items() if values}
    p99 = {name: percentile(values, 99) for name, values in ms.items() if values}
    ratio50 = p50["ours"] / p50["reference"]
    ratio99 = p99["ours"] / p99["reference"]
    failures = results["stress_failures"]
    ok = ratio50 <= 0.6 and not failures
    attempts = args.candidates * args.stress_rounds
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPU(s), "
        f"Python {std_platform.python_version()}; {args.delay * 1000:.0f} ms added to every "
        f"HTTP request to the provider (the simulator); {args.connects} connects per flow one at "
        f"a time, alternating; then {args.stress_rounds} rounds of {args.candidates} candidates "
        "connecting at once through the proxy.",
        "",
        "| click -> data channel open | connects | p50 (ms) | p99 (ms) |",
        "|---|---|---|---|",
        f"| ours: SDP proxy (daphne, Django, PostgreSQL) | {len(ms['ours'])} | "
        f"{p50['ours']:.0f} | {p99['ours']:.0f} |",
        f"| reference: client secret, then the client posts its offer | "
        f"{len(ms['reference'])} | {p50['reference']:.0f} | {p99['reference']:.0f} |",
        f"| ours, {args.candidates} candidates at once | {len(ms['stress'])} of {attempts} | "
        + (f"{p50['stress']:.0f} | {p99['stress']:.0f} |" if ms["stress"] else "- | - |"),
        "",
        "Where one connect's time goes (medians, ms): click -> offer created (ICE gathering) / "
        "offer -> answer (HTTP: the proxy and its provider call, or the secret and the "
        "client's post) / answer -> channel open (ICE checks, DTLS, SCTP):",
        "",
        "| flow | offer | offer -> answer | answer -> open |",
        "|---|---|---|---|",
        *[
            f"| {label} | {phase[(name, 'offer')]:.1f} | {phase[(name, 'answer')]:.1f} | "
            f"{phase[(name, 'handshake')]:.1f} |"
            for name, label in (
                ("ours", "ours"),
                ("reference", "reference"),
                ("stress", f"ours, {args.candidates} at once"),
            )
            if (name, "offer") in phase
        ],
        "",
        "The provider's own time per request, one at a time (medians, ms, without the "
        "added delay): "
        + "; ".join(
            f"{kind} {statistics.median(values) * 1000:.1f}"
            for kind, values in sorted(results["provider"].items())
        )
        + ". Ours over the provider, one at a time (offer -> answer, minus the delay and the "
        f"provider's median on its multipart calls): {proxy_share:.1f} ms"
        + (
            f", of which inside Django (the view's logged duration, minus the same): "
            f"{view_share:.1f} ms, and outside it (the candidate's request to daphne and back, "
            f"daphne, Django's request-signal hand-overs): {proxy_share - view_share:.1f} ms."
            if view_share is not None
            else "."
        ),
        "",
        "| figure | measured | goal | |",
        "|---|---|---|---|",
        f"| ours / reference, p50 | {ratio50:.2f} | <= 0.60 | "
        f"{'met' if ratio50 <= 0.6 else 'NOT met'} |",
        f"| ours / reference, p99 | {ratio99:.2f} | | |",
        f"| {args.candidates} at once: failures | {len(failures)} of {attempts} | 0 | "
        f"{'met' if not failures else 'NOT met'} |",
    ]
    if ms["stress"]:
        lines += [
            f"| {args.candidates} at once / one at a time, p50 | "
            f"{p50['stress'] / p50['ours']:.2f} | | |",
            f"| {args.candidates} at once / one at a time, p99 | "
            f"{p99['stress'] / p99['ours']:.2f} | | |",
        ]
    if failures:
        lines += ["", "Failures: " + "; ".join(sorted(set(failures))[:5])]
    return "\n".join(lines), ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connects", type=int, default=100, help="per flow, one at a time")
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--stress-rounds", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.150)
    parser.add_argument("--write", help="put the results in this Markdown file")
    parser.add_argument("--serve-simulator", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.serve_simulator, args.delay)
        return 0

    provider_port, proxy_port = free_port(), free_port()
    provider = f"http://127.0.0.1:{provider_port}/v1"
    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": provider}
    with bench_environment(env) as bench:
        count = 3 + args.connects + args.candidates * args.stress_rounds
        sessions, config = prepare(count)
        for name in ("aioice", "aiortc"):  # Django's logging set-up shows their INFO lines
            logging.getLogger(name).setLevel(logging.WARNING)
        bench.process(
            [
                sys.executable,
                __file__,
                "--serve-simulator",
                str(provider_port),
                "--delay",
                str(args.delay),
            ]
        )
        bench.daphne("config.asgi:application", proxy_port)
        for port in (provider_port, proxy_port):
            wait_port(port)
        results = asyncio.run(
            measure(f"http://127.0.0.1:{proxy_port}", provider, sessions, config, args, bench.log)
        )
    text, ok = report(results, args)
    print(text)
    if args.write:
        write_results(args.write, text, "connect")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
