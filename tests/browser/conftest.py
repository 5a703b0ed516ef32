"""Real-browser fixtures: Debian's Chromium driven by Playwright, with fake media devices
(a test pattern for the camera, a beep for the microphone) and permissions granted."""

import contextlib
import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = [
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


# Module scope: Playwright's sync API keeps an event loop running in this thread, which must
# not outlive the browser tests (other tests run their own loops).
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; scripts/test installs it (apt-get).")
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # around it are ordinary synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=FLAGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, request, transactional_db):
    # After the database (transactional_db): the page is closed before the test database is
    # emptied, so a request it still makes (a heartbeat, a transcript line, a video part's
    # report) never reaches a server whose database is gone.
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    yield page
    # A request the server is still answering when the page closes may race the emptying of
    # the database; tests/support/flush.py retries an emptying that loses that race.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def snap(page, name: str) -> None:
    """Keep a screenshot of a step as a test artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def asgi_server():
    """The platform under daphne, as in production (HTTP and WebSockets), in a process of its
    own on the test database and Redis (the tests' committed data is what it sees). Yields
    its base URL. pytest-django's live_server speaks WSGI only: no WebSockets."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    import tempfile

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SERVE_STATIC": "true"}
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed after the server stops)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"daphne exited: {log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("daphne did not answer /healthz within 30 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# --- Content Security Policy violations ---------------------------------------------------------
# Every page of a watched browser page records the policy violations it sees
# (securitypolicyviolation events, into window.__cspViolations and out to the test through an
# exposed function, so those of a page navigated away from are kept) and the browser's console
# messages about its Content-Security-Policy or Permissions-Policy.
# The pages' policy has no 'unsafe-eval', so page.wait_for_function takes a function
# ("() => ..."), never a bare expression, which Playwright would eval in the page at each poll.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const violation = {
    page: location.href,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  };
  window.__cspViolations.push(violation);
  if (window.__reportCspViolation) window.__reportCspViolation(violation);
}, true);
"""
POLICY_MESSAGE = ("Content Security Policy", "Content-Security-Policy", "Permissions policy")


class PolicyWatch:
    """What a page's policies refused, from its install until ``violations()`` is asked."""

    def __init__(self, page):
        self.page = page
        self.reported: list[dict] = []
        self.console: list[str] = []
        page.expose_function("__reportCspViolation", self._report)
        page.add_init_script(CSP_RECORDER)
        page.on("console", self._console)

    def _report(self, violation: dict) -> None:
        self.reported.append(violation)

    def _console(self, message) -> None:
        if any(marker in message.text for marker in POLICY_MESSAGE):
            self.console.append(f"{message.type}: {message.text} ({message.location})")

    def violations(self) -> list:
        """Every violation reported so far, with the current page's own record (in case one
        was still on its way out), and every console message about a policy."""
        with contextlib.suppress(Exception):  # a closed page has only what it reported
            for violation in self.page.evaluate("window.__cspViolations || []"):
                if violation not in self.reported:
                    self.reported.append(violation)
        return [*self.reported, *self.console]


@pytest.fixture
def policy_watch(page):
    """The ``page`` fixture's PolicyWatch (installed before the test's first navigation)."""
    return PolicyWatch(page)
