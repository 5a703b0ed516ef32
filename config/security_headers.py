"""The Content-Security-Policy and Permissions-Policy headers of every response
(docs/security.md).

django-csp builds the header from ``settings.CONTENT_SECURITY_POLICY`` (the candidate pages'
policy, the strictest) and a fresh nonce per response. This middleware adds what depends on
other settings, read at each request so that a changed setting (a test's local fake) is what
the header says:

- candidate pages (everything outside the console): ``connect-src`` gains the realtime
  provider's and the video provider's upload origins (``OPENAI_BASE_URL``,
  ``APIVIDEO_UPLOAD_BASE_URL`` or ``APIVIDEO_BASE_URL``), and ``form-action`` Google's sign-in
  origin when Google sign-in is on (the form posts to us, and we redirect to Google: browsers
  check a form's redirects against ``form-action`` too);
- the console (``CONSOLE_PATH_PREFIXES``, Django's admin): ``connect-src`` stays ``'self'``
  (its live view's WebSocket is ours), and ``media-src`` gains the video provider's asset
  origin, where the session page's player is redirected to play a recording.

No policy allows ``'unsafe-inline'``, ``'unsafe-eval'``, ``*`` or a bare scheme for scripts;
``tests/config/test_security_headers.py`` fails if one does.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from csp.constants import SELF
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

from core.browser_permissions import CAPTURE_ATTRIBUTE

PERMISSIONS_POLICY_HEADER = "Permissions-Policy"
#: Powerful features no page of ours uses: off everywhere, for us and any frame.
FEATURES_OFF = (
    "accelerometer",
    "display-capture",
    "geolocation",
    "gyroscope",
    "magnetometer",
    "midi",
    "payment",
    "usb",
)
#: The device check and the interview page (core.browser_permissions) record the candidate.
CAPTURE_FEATURES = ("camera", "microphone")

#: api.video serves a video's assets (the mp4 the console plays) from this host, not from
#: its API's (ws.api.video, sandbox.api.video).
APIVIDEO_ASSET_ORIGIN = "https://vod.api.video"
GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"  # allauth's default


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, what a CSP source names; "" for no URL."""
    parts = urlsplit(url)
    if not (parts.scheme and parts.netloc):
        return ""
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}".lower()


def video_asset_origin() -> str:
    """Where the browser fetches a recording from: ``APIVIDEO_ASSET_BASE_URL`` when set, else
    api.video's asset host for api.video's own API hosts, else the API's own origin (the
    local fake serves its assets itself)."""
    if settings.APIVIDEO_ASSET_BASE_URL:
        return origin(settings.APIVIDEO_ASSET_BASE_URL)
    api = origin(settings.APIVIDEO_BASE_URL)
    host = urlsplit(api).hostname or ""
    if host == "api.video" or host.endswith(".api.video"):
        return APIVIDEO_ASSET_ORIGIN
    return api


def google_sign_in_origin() -> str:
    """Google's authorisation origin, when candidates may sign in with Google."""
    if not settings.GOOGLE_LOGIN_ENABLED:
        return ""
    google = settings.SOCIALACCOUNT_PROVIDERS.get("google", {})
    return origin(google.get("AUTHORIZE_URL", GOOGLE_AUTHORIZE_URL))


def is_console(path: str) -> bool:
    return path.startswith(tuple(settings.CONSOLE_PATH_PREFIXES))


def policy_additions(path: str) -> dict[str, list[str]]:
    """What this path's policy adds to ``settings.CONTENT_SECURITY_POLICY`` (see the module's
    docstring), from the settings as they are now."""
    if is_console(path):
        return {"media-src": _present(video_asset_origin())}
    additions = {
        "connect-src": _present(
            origin(settings.OPENAI_BASE_URL),
            origin(settings.APIVIDEO_UPLOAD_BASE_URL or settings.APIVIDEO_BASE_URL),
        ),
        "form-action": _present(google_sign_in_origin()),
    }
    if path.startswith(API_DOCS_PATH):
        additions["style-src"] = api_docs_style_hashes()
    return {directive: sources for directive, sources in additions.items() if sources}


def _present(*sources: str) -> list[str]:
    return [source for source in dict.fromkeys(sources) if source and source != SELF]


# --- The API's documentation page ------------------------------------------------------------
# drf-spectacular's Swagger UI page (config.urls, the split view: its script is a file) keeps
# one fixed <style> block in its template; that block, and nothing else inline, is allowed by
# its hash on that page alone.
API_DOCS_PATH = "/api/docs/"
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.DOTALL)


@functools.cache
def api_docs_style_hashes() -> list[str]:
    from django.template.loader import get_template

    source = get_template("drf_spectacular/swagger_ui.html").template.source
    return [_sha256_source(block) for block in _STYLE_BLOCK.findall(source)]


def _sha256_source(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def permissions_policy(*, capture: bool) -> str:
    granted = "(self)" if capture else "()"
    features = [f"{feature}={granted}" for feature in CAPTURE_FEATURES]
    features += [f"{feature}=()" for feature in FEATURES_OFF]
    return ", ".join(features)


class SecurityHeadersMiddleware(CSPMiddleware):
    """django-csp's middleware with this platform's per-path additions, and the
    Permissions-Policy header. Asynchronous-capable without thread hops (the candidate API's
    chain takes only such middleware: config.asgi): building a header touches no database."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        self.process_request(request)
        return self.process_response(request, self.get_response(request))

    async def _acall(self, request):
        self.process_request(request)
        return self.process_response(request, await self.get_response(request))

    def process_response(self, request, response):
        response = super().process_response(request, response)
        if PERMISSIONS_POLICY_HEADER not in response:
            capture = bool(getattr(response, CAPTURE_ATTRIBUTE, False))
            response[PERMISSIONS_POLICY_HEADER] = permissions_policy(capture=capture)
        return response

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        update = {key: list(value) for key, value in policy_additions(request.path).items()}
        for directive, sources in (parts.update or {}).items():  # a view's own @csp_update
            update.setdefault(directive, []).extend(
                [sources] if isinstance(sources, str) else sources
            )
        parts.update = update
        return parts
