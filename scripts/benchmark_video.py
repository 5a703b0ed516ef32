"""Benchmark: what recording the candidate's video costs - the page, our server, the network.

    scripts/benchmark video           # bootstraps, then runs this
    .venv/bin/python scripts/benchmark_video.py [--minutes 10] [--part-bytes N] [--write FILE]

The platform as the run command starts it, on a fresh database and Redis: daphne serving
``config.asgi:application``, the realtime worker, the interview simulator (told to stay quiet,
so the call stays open and nobody speaks for the whole window) and the local api.video fake
(its webhooks to our ``/api/video/webhooks/``). A candidate is invited and onboarded with
Django's test client (link, consent, sign-in, start); headless Chromium (phone-sized, fake
camera and microphone) opens the interview page with that browser session and waits until
the call is live. Two phases, one after the other, each ``--minutes`` long: the tenant's
video off, then on (MediaRecorder timeslices of ``VIDEO_TIMESLICE_MS``, parts of
``VIDEO_UPLOAD_PART_BYTES``, both the production defaults unless given).

Measured over the window (from live, and in the video phase from "Recording video"):

- the page's main-thread busy time: Chromium's performance metrics over CDP
  (``Performance.getMetrics``: ``TaskDuration``, ``ScriptDuration``), their growth;
- every request the page made that finished in the window (Playwright's ``requestfinished``;
  bytes from ``request.sizes()``: headers and bodies both ways), split by destination: our
  server's video API (``/video/``, ``/events/``), the rest of our server, the video provider,
  anything else. WebRTC media (to the interview provider) is not HTTP and not counted;
- the CPU time of our web process (daphne) and of the realtime worker (``/proc``);
- the bytes the fake holds on disk at the end of the window.

Then the candidate ends the interview (the page's "End interview", confirmed); the run waits
for the done page and (video on) until the session's segments are ``ready``, and reports the
segments, the parts uploaded and the duration the provider reports beside the window.

Derived: the CPU our server spends per minute of video (web CPU per minute, on minus off),
the bytes of video per minute (to the provider), the bytes of video that went through our
server against them (goal: near zero - the page uploads straight to the provider), and the
page's main-thread busy time with video against without. There is no pass/fail target: the
run fails only if something in it did.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform as std_platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
sys.path.insert(0, str(BASE / "scripts"))

from benchlib import bench_environment, cpu_seconds, free_port, wait_port, write_results  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
FLAGS = [  # as tests/browser/conftest.py: fake camera and microphone, permissions granted
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105 (the local fake's, for this run)
KINDS = ("video_api", "ours", "provider", "other")


def onboard(site: str, video: bool, minutes: int) -> tuple[str, str]:
    """A tenant with video on or off, an invited candidate walked to a started session with
    Django's test client; returns the interview page's path and the browser session."""
    from allauth.account.models import EmailAddress
    from django.test import Client

    from core import rls
    from invitations.services import candidate_account_for, invitation_deliver, invitation_issue
    from tests.factories import CandidateFactory, TemplateFactory, TenantFactory

    tenant = TenantFactory(video_enabled=video)
    candidate = CandidateFactory(tenant=tenant, email=f"video-{int(video)}@example.com")
    # The time limit well beyond the window (60 minutes is the most a template allows).
    template = TemplateFactory(tenant=tenant, max_duration_minutes=min(60, max(30, minutes + 15)))
    with rls.tenant_context(tenant.pk):
        invitation = invitation_issue(
            candidate=candidate, template=template, actor=None, send=False
        )
    token = invitation_deliver(invitation_id=invitation.pk, tenant_id=tenant.pk)
    client = Client(HTTP_HOST="127.0.0.1")
    steps = [
        (client.get(f"/i/{token}"), 200),
        (client.post("/interview/consent/", {"agree": "yes"}), 302),
    ]
    user = candidate_account_for(invitation)  # the account the emailed code would sign in
    with rls.bypass_context():
        EmailAddress.objects.filter(user=user).update(verified=True)
    client.force_login(user)
    started = client.post("/interview/start/")
    for response, status in [*steps, (started, 302)]:
        if response.status_code != status:
            raise RuntimeError(f"onboarding: {response.status_code} at {response.request}")
    return started.url, client.cookies["sessionid"].value


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def kind_of(url: str, site: str, provider: str) -> str:
    if url.startswith(site + "/"):
        path = urlsplit(url).path
        return (
            "video_api"
            if path.startswith("/api/") and ("/video/" in path or "/events/" in path)
            else "ours"
        )
    return "provider" if url.startswith(provider + "/") else "other"


def request_bytes(request) -> int:
    """Headers and bodies both ways. Chromium does not report a body it streams from a Blob
    (a video part's multipart form): its Content-Length stands in for it."""
    try:
        sizes = request.sizes()
        if not sizes["requestBodySize"]:
            length = request.all_headers().get("content-length", "0")
            sizes["requestBodySize"] = int(length) if length.isdigit() else 0
    except Exception:  # a request Chromium no longer knows: counted, with 0 bytes
        return 0
    return sum(max(0, sizes[k]) for k in sizes)


def metrics(cdp) -> dict:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def wait_segments(session_id: str, timeout: float = 90) -> list:
    from core import rls
    from interviews.models import VideoSegment

    deadline = time.monotonic() + timeout
    while True:
        with rls.bypass_context():
            segments = list(VideoSegment.objects.filter(session_id=session_id))
        if (segments and all(s.status == "ready" for s in segments)) or time.monotonic() > deadline:
            return segments
        time.sleep(1)


def run_phase(browser, site, provider, pids, data_dir, minutes, video) -> dict:
    path, cookie = onboard(site, video, minutes)
    session_id = path.rstrip("/").rsplit("/", 1)[1]
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": site}])
    page = context.new_page()
    finished = []
    page.on("requestfinished", lambda request: finished.append((time.monotonic(), request)))
    page.goto(site + path)
    page.wait_for_function(
        "document.getElementById('interview').dataset.state === 'live'", timeout=60000
    )
    if video:
        page.locator("#recording[data-state='on']").wait_for(timeout=30000)
    recording = time.monotonic()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.wait_for_timeout(1000)
    before = metrics(cdp)
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.monotonic()
    while time.monotonic() < start + minutes * 60:  # in steps, so that events keep coming
        page.wait_for_timeout(min(5000, (start + minutes * 60 - time.monotonic()) * 1000))
    end = time.monotonic()
    after = metrics(cdp)
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    stored = dir_bytes(data_dir)
    state = page.evaluate("document.getElementById('interview').dataset.state")

    ended = time.monotonic()
    page.locator("#end").click()
    page.locator("#confirm-end-yes").click()
    page.wait_for_url("**/done/**", timeout=60000)
    segments = wait_segments(session_id) if video else []
    per_kind = {k: [0, 0] for k in KINDS}  # requests, bytes in the window
    total = {k: [0, 0] for k in KINDS}  # the same, from the page's opening to the done page
    parts = 0
    for at, request in finished:
        kind, size = kind_of(request.url, site, provider), request_bytes(request)
        total[kind][0] += 1
        total[kind][1] += size
        if kind == "provider" and urlsplit(request.url).path == "/upload":
            parts += 1
        if start <= at <= end:
            per_kind[kind][0] += 1
            per_kind[kind][1] += size
    context.close()
    window = (end - start) / 60
    return {
        "video": video,
        "minutes": window,
        "state": state,
        "busy_ms": (after["TaskDuration"] - before["TaskDuration"]) * 1000 / window,
        "script_ms": (after["ScriptDuration"] - before["ScriptDuration"]) * 1000 / window,
        "requests": {k: v[0] / window for k, v in per_kind.items()},
        "kb": {k: v[1] / 1024 / window for k, v in per_kind.items()},
        "cpu_ms": {name: seconds * 1000 / window for name, seconds in cpu.items()},
        "stored": stored,
        "stored_after": dir_bytes(data_dir),
        "parts": parts,
        "total": total,
        "recorded_minutes": (ended - recording) / 60 if video else 0,
        "segments": [(s.status, s.duration_seconds) for s in segments],
    }


def report(off: dict, on: dict, args) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Run {now} on {os.cpu_count()} CPU(s), Python {std_platform.python_version()}; "
        f"{args.minutes} min per phase, timeslices of {args.timeslice_ms} ms, parts of at "
        f"least {args.part_bytes} bytes; headless Chromium, fake camera and microphone.",
        "",
        "| per minute | video off | video on |",
        "|---|---|---|",
    ]

    def row(label, fmt, get):
        lines.append(f"| {label} | {fmt.format(get(off))} | {fmt.format(get(on))} |")

    row("page main thread busy (ms)", "{:.0f}", lambda r: r["busy_ms"])
    row("page main thread busy (% of wall time)", "{:.2%}", lambda r: r["busy_ms"] / 60000)
    row("page script (ms)", "{:.0f}", lambda r: r["script_ms"])
    for kind, label in (
        ("video_api", "our server, video API"),
        ("ours", "our server, the rest"),
        ("provider", "video provider"),
        ("other", "elsewhere"),
    ):
        row(f"requests to {label}", "{:.1f}", lambda r, k=kind: r["requests"][k])
        row(f"KB to and from {label}", "{:.1f}", lambda r, k=kind: r["kb"][k])
    row("our web process CPU (ms)", "{:.0f}", lambda r: r["cpu_ms"]["web"])
    row("realtime worker CPU (ms)", "{:.0f}", lambda r: r["cpu_ms"]["realtime"])

    # Over the whole recording (from "Recording video" to the done page): parts of 5 MiB go
    # up minutes apart, and the segment is created before the window starts. The bytes of
    # video are what the provider holds at the end (the parts joined).
    api_requests, api_bytes = on["total"]["video_api"]
    video_bytes = on["stored_after"]
    cpu_delta = on["cpu_ms"]["web"] - off["cpu_ms"]["web"]
    ours_requests = on["requests"]["video_api"] + on["requests"]["ours"]
    api_share = on["cpu_ms"]["web"] * on["requests"]["video_api"] / max(ours_requests, 1e-9)
    lines += [
        "",
        "| figure | measured |",
        "|---|---|",
        f"| CPU our server spends per minute of video (web, on minus off) | {cpu_delta:.0f} ms |",
        f"| of it the video API's (web CPU x its share of our requests in the window) "
        f"| {api_share:.1f} ms |",
        f"| video API requests in the whole recording (segment, reports) | {api_requests} |",
        f"| bytes of video per minute (at the provider, whole recording of "
        f"{on['recorded_minutes']:.1f} min) "
        f"| {video_bytes / 2**20 / on['recorded_minutes']:.2f} MB |",
        f"| bytes through our server for video / bytes of video (whole recording) "
        f"| {api_bytes / max(video_bytes, 1):.5f} |",
        f"| page main thread busy, video on / off "
        f"| {on['busy_ms'] / max(off['busy_ms'], 1e-9):.2f} |",
        f"| segments (status, duration the provider reports; the fake: 5 s per part) | "
        f"{', '.join(f'{s} {d} s' for s, d in on['segments']) or 'none'} "
        f"(window {on['minutes'] * 60:.0f} s) |",
        f"| parts uploaded (bytes the page sent the provider, whole recording) "
        f"| {on['parts']} ({on['total']['provider'][1] / 2**20:.1f} MB) |",
        f"| bytes at the provider: end of window / after the end | "
        f"{on['stored'] / 2**20:.1f} / {on['stored_after'] / 2**20:.1f} MB |",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=10, help="each phase's window")
    parser.add_argument("--timeslice-ms", type=int, default=5000)
    parser.add_argument("--part-bytes", type=int, default=5 * 1024 * 1024)
    parser.add_argument("--write", help="put the results in this Markdown file")
    args = parser.parse_args()
    if not 1 <= args.minutes <= 45:
        parser.error("--minutes: 1 to 45 (a template's time limit is at most 60 minutes)")

    web, simulator, fake = free_port(), free_port(), free_port()
    site, provider = f"http://127.0.0.1:{web}", f"http://127.0.0.1:{fake}"
    quiet = str(args.minutes * 60 + 600)  # the interviewer never speaks within the window
    extra_env = {
        "SITE_URL": site,
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{simulator}/v1",
        "APIVIDEO_API_KEY": "",
        "APIVIDEO_BASE_URL": provider,
        "APIVIDEO_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "VIDEO_TIMESLICE_MS": str(args.timeslice_ms),
        "VIDEO_UPLOAD_PART_BYTES": str(args.part_bytes),
        "SIMULATOR_GREETING_DELAY": quiet,
        "SIMULATOR_ANSWER_TIMEOUT": quiet,
        "SIMULATOR_SPEECH_THRESHOLD": "1e12",  # the fake microphone's beep is not speech
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    with tempfile.TemporaryDirectory() as data, bench_environment(extra_env) as bench:
        data_dir = Path(data)
        daphne = bench.daphne("config.asgi:application", web)
        python = sys.executable
        bench.process([python, "-m", "devtools.simulator", "--port", str(simulator)])
        bench.process(
            [
                python,
                "-m",
                "devtools.apivideo",
                "--port",
                str(fake),
                "--data-dir",
                data,
                "--webhook-url",
                f"{site}/api/video/webhooks/",
                "--webhook-secret",
                WEBHOOK_SECRET,
            ]
        )
        worker = bench.process([python, "manage.py", "realtime_worker"])
        for port in (web, simulator, fake):
            wait_port(port)
        pids = {"web": daphne.pid, "realtime": worker.pid}

        import django

        django.setup()
        # Playwright's sync API keeps an event loop in this thread; the ORM calls around it
        # are ordinary synchronous ones.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        logging.getLogger("config.request").setLevel(logging.WARNING)  # the onboarding's
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            phases = []
            for video in (False, True):
                print(f"video {'on' if video else 'off'}: {args.minutes} min", file=sys.stderr)
                phases.append(
                    run_phase(browser, site, provider, pids, data_dir, args.minutes, video)
                )
            browser.close()

    off, on = phases
    text = report(off, on, args)
    print(text)
    if args.write:
        write_results(args.write, text, "video")
    problems = [
        f"phase {'on' if r['video'] else 'off'}: state {r['state']}"
        for r in phases
        if r["state"] != "live"
    ]
    if not on["segments"] or any(status != "ready" for status, _ in on["segments"]):
        problems.append(f"segments not ready: {on['segments']}")
    for problem in problems:
        print("FAILED:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
