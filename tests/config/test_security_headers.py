"""The Content-Security-Policy and Permissions-Policy headers (config.security_headers): the
effective policies built from the settings allow no inline or wildcard script, and each kind
of page gets the headers it should."""

import base64
import hashlib
import re
import threading

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from config.security_headers import SecurityHeadersMiddleware
from live.tokens import session_token_issue
from tests.config.test_api_docs import test_the_docs_page_loads_swagger_ui_from_our_own_static_files
from tests.factories import SessionFactory, UserFactory
from tests.invitations.test_onboarding import issued_link, sign_in_by_email_code, walk_to_sign_in
from tests.support.google import GOOGLE

pytestmark = pytest.mark.django_db

CANDIDATE_PATHS = ["/i/some-token", "/interview/device-check/", "/interview/session/x/"]
CONSOLE_PATHS = ["/admin/", "/admin/interviews/interviewsession/x/change/"]
SCRIPT_DIRECTIVES = ("script-src", "script-src-elem", "script-src-attr", "default-src")
STYLE_DIRECTIVES = ("style-src", "style-src-elem", "style-src-attr", "default-src")
BARE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:$")  # https:, http:, data:, blob:...
CAMERA_ON = "camera=(self), microphone=(self)"
CAMERA_OFF = "camera=(), microphone=()"


def parse(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def effective_policy(path: str, *, nonce: bool = False) -> dict[str, list[str]]:
    """The policy the middleware gives a response at ``path``, from the settings as they are;
    with ``nonce`` the page used the response's nonce (an inline script)."""

    def view(request):
        return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>" if nonce else "")

    middleware = SecurityHeadersMiddleware(view)
    response = middleware(RequestFactory().get(path))
    return parse(response["Content-Security-Policy"])


def unsafe_script_sources(policy: dict[str, list[str]]) -> list[str]:
    return [
        f"{directive} {source}"
        for directive in SCRIPT_DIRECTIVES
        for source in policy.get(directive, [])
        if source in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'")
        or "*" in source
        or BARE_SCHEME.match(source)
    ]


@pytest.fixture(
    params=["local fakes", "production providers"],
)
def provider_settings(request, settings):
    """The providers' settings as in development and tests (local fakes), and as in
    production (OpenAI, api.video, Google sign-in on)."""
    if request.param == "production providers":
        settings.OPENAI_BASE_URL = "https://api.openai.com/v1"
        settings.APIVIDEO_BASE_URL = "https://ws.api.video"
        settings.APIVIDEO_UPLOAD_BASE_URL = ""
        settings.APIVIDEO_ASSET_BASE_URL = ""
        settings.GOOGLE_LOGIN_ENABLED = True
    return settings


@pytest.mark.parametrize("path", CANDIDATE_PATHS + CONSOLE_PATHS + ["/api/v1/candidates/"])
def test_no_policy_allows_an_inline_eval_wildcard_or_bare_scheme_script(provider_settings, path):
    policy = effective_policy(path)
    assert "script-src" in policy
    assert unsafe_script_sources(policy) == []
    assert policy["script-src"] == ["'self'"]  # a nonce only when the page used it


def test_the_check_itself_catches_each_unsafe_script_source():
    for source in ["'unsafe-inline'", "'unsafe-eval'", "*", "https://*.example.com", "https:"]:
        assert unsafe_script_sources({"script-src": ["'self'", source]}) != []
    assert unsafe_script_sources({"default-src": ["*"]}) != []  # scripts fall back to it


def test_a_setting_that_allowed_inline_scripts_is_caught(settings):
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            **settings.CONTENT_SECURITY_POLICY["DIRECTIVES"],
            "script-src": ["'self'", "'unsafe-inline'"],
        }
    }
    assert unsafe_script_sources(effective_policy("/i/x")) == ["script-src 'unsafe-inline'"]


@pytest.mark.parametrize("path", CANDIDATE_PATHS + CONSOLE_PATHS)
def test_no_page_allows_inline_styles(provider_settings, path):
    policy = effective_policy(path)
    assert policy["style-src"] == ["'self'"]
    for directive in STYLE_DIRECTIVES:
        assert "'unsafe-inline'" not in policy.get(directive, [])


@pytest.mark.parametrize("path", CANDIDATE_PATHS + CONSOLE_PATHS)
def test_every_page_refuses_frames_plugins_and_foreign_bases_and_forms(provider_settings, path):
    policy = effective_policy(path)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"][0] == "'self'"


def test_candidate_pages_connect_to_us_and_the_providers_named_in_the_settings(settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:8765/v1"
    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:8766"
    settings.APIVIDEO_UPLOAD_BASE_URL = ""
    settings.GOOGLE_LOGIN_ENABLED = False
    policy = effective_policy("/interview/session/x/")
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:8765", "http://127.0.0.1:8766"]
    assert policy["form-action"] == ["'self'"]
    assert policy["media-src"] == ["'self'"]

    settings.OPENAI_BASE_URL = "https://api.openai.com/v1"
    settings.APIVIDEO_BASE_URL = "https://ws.api.video"
    settings.APIVIDEO_UPLOAD_BASE_URL = "https://upload.example.net/v2/"
    policy = effective_policy("/interview/session/x/")
    assert policy["connect-src"] == [
        "'self'",
        "https://api.openai.com",
        "https://upload.example.net",
    ]


def test_the_google_sign_in_origin_is_a_form_action_only_when_google_is_on(settings):
    settings.GOOGLE_LOGIN_ENABLED = True
    assert effective_policy("/interview/sign-in/")["form-action"] == [
        "'self'",
        "https://accounts.google.com",
    ]
    assert effective_policy("/admin/login/")["form-action"] == ["'self'"]


def test_the_console_connects_only_to_us_and_plays_video_from_the_asset_host(settings):
    settings.OPENAI_BASE_URL = "https://api.openai.com/v1"
    settings.APIVIDEO_BASE_URL = "https://ws.api.video"
    settings.APIVIDEO_ASSET_BASE_URL = ""
    policy = effective_policy("/admin/interviews/interviewsession/x/change/")
    assert policy["connect-src"] == ["'self'"]
    assert policy["media-src"] == ["'self'", "https://vod.api.video"]

    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:8766"  # the local fake serves its assets
    assert effective_policy("/admin/")["media-src"] == ["'self'", "http://127.0.0.1:8766"]
    settings.APIVIDEO_ASSET_BASE_URL = "https://cdn.example.net/videos"
    assert effective_policy("/admin/")["media-src"] == ["'self'", "https://cdn.example.net"]


def test_a_page_with_an_inline_script_gets_a_fresh_nonce_for_it():
    first, second = effective_policy("/i/x", nonce=True), effective_policy("/i/x", nonce=True)
    assert first["script-src"][0] == "'self'" and first["script-src"][1].startswith("'nonce-")
    assert first["script-src"][1] != second["script-src"][1]
    assert unsafe_script_sources(first) == []


# --- The headers on each kind of page -----------------------------------------------------------


def headers_of(response) -> tuple[dict[str, list[str]], str]:
    return parse(response["Content-Security-Policy"]), response["Permissions-Policy"]


def assert_camera_off(permissions):
    assert permissions.startswith(CAMERA_OFF)
    assert "geolocation=()" in permissions and "payment=()" in permissions


def test_the_invitation_page_has_the_candidate_policy_and_no_camera(client, tenant_a):
    _, link = issued_link(tenant_a)
    response = client.get(link)
    assert response.status_code == 200
    policy, permissions = headers_of(response)
    assert policy["style-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    assert_camera_off(permissions)


def test_the_sign_in_pages_keep_their_forms_working_under_form_action(client, tenant_a, settings):
    settings.SOCIALACCOUNT_PROVIDERS = GOOGLE
    settings.GOOGLE_LOGIN_ENABLED = True
    _, link = issued_link(tenant_a)
    page = walk_to_sign_in(client, link)
    policy, permissions = headers_of(page)
    assert policy["form-action"] == ["'self'", "https://accounts.google.com"]
    # The Google form posts to us, and we send the browser on to Google's own origin.
    google = client.post(reverse("google_login"), {"process": "login"})
    assert google["Location"].startswith("https://accounts.google.com/")
    assert_camera_off(permissions)
    code_page = sign_in_by_email_code(client, "ada@example.com")
    assert "Content-Security-Policy" in code_page


def test_the_device_check_grants_camera_and_microphone_to_our_origin(client, tenant_a):
    _, link = issued_link(tenant_a)
    walk_to_sign_in(client, link)
    sign_in_by_email_code(client, "ada@example.com")
    response = client.get(reverse("interview_device_check"))
    assert response.status_code == 200
    policy, permissions = headers_of(response)
    assert permissions.startswith(CAMERA_ON)
    assert "geolocation=()" in permissions
    assert policy["script-src"][0] == "'self'"


def test_the_interview_page_grants_camera_and_microphone_and_connects_to_the_providers(
    tenant_a, settings
):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:8765/v1"
    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:8766"
    settings.APIVIDEO_UPLOAD_BASE_URL = ""
    user = UserFactory(email="ada@example.com")
    session = SessionFactory(tenant=tenant_a, candidate__user=user)
    client = Client()
    client.force_login(user)
    response = client.get(reverse("interview_session", args=[session.pk]))
    assert response.status_code == 200
    policy, permissions = headers_of(response)
    assert permissions.startswith(CAMERA_ON)
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:8765", "http://127.0.0.1:8766"]
    # The page's only inline <script> is its configuration, a JSON data block (never run).
    page = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline == [' id="interview-config" type="application/json"']


def test_the_console_has_its_policy_and_no_camera(recruiter_client, settings):
    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:8766"
    settings.APIVIDEO_ASSET_BASE_URL = ""
    response = recruiter_client.get("/admin/")
    assert response.status_code == 200
    policy, permissions = headers_of(response)
    assert policy["connect-src"] == ["'self'"]
    assert policy["media-src"] == ["'self'", "http://127.0.0.1:8766"]
    assert policy["style-src"] == ["'self'"]
    assert_camera_off(permissions)
    # The console's own templates put no style= attribute or <style> block in the page.
    page = response.content.decode()
    assert " style=" not in page and "<style" not in page


def test_the_console_sign_in_page_has_the_console_policy(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    policy, permissions = headers_of(response)
    assert policy["form-action"] == ["'self'"] and policy["connect-src"] == ["'self'"]
    assert_camera_off(permissions)


def test_the_candidate_api_answers_with_both_headers(tenant_a):
    session = SessionFactory(tenant=tenant_a, candidate__user=UserFactory())
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=tenant_a.pk
    )
    response = Client().get(
        f"/api/candidate/sessions/{session.pk}/status/", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200
    policy, permissions = headers_of(response)
    assert policy["frame-ancestors"] == ["'none'"] and unsafe_script_sources(policy) == []
    assert_camera_off(permissions)


def test_the_tenant_api_answers_with_both_headers(client):
    response = client.get("/api/v1/candidates/")
    assert response.status_code in (401, 403)
    policy, permissions = headers_of(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert_camera_off(permissions)


def test_the_api_docs_allow_only_their_own_style_block_by_its_hash(client):
    test_the_docs_page_loads_swagger_ui_from_our_own_static_files(client)
    response = client.get("/api/docs/")
    policy, _ = headers_of(response)
    hashes = [source for source in policy["style-src"] if source.startswith("'sha256-")]
    assert len(hashes) == 1 and "'unsafe-inline'" not in policy["style-src"]
    [block] = re.findall(r"<style>(.*?)</style>", response.content.decode(), re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
    assert hashes == [f"'sha256-{digest}'"]
    assert unsafe_script_sources(policy) == []
    # The start-up script is a file of the page's own view, not inline.
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_the_one_inline_script_of_the_console_runs_by_the_responses_nonce(operator_client):
    # django-celery-beat's periodic task form (operators) keeps an inline script: it carries
    # the response's nonce, and the header names that nonce (a fresh one per response).
    pages = [operator_client.get("/admin/django_celery_beat/periodictask/add/") for _ in "ab"]
    nonces = []
    for response in pages:
        assert response.status_code == 200
        [nonce] = re.findall(
            r'<script id="periodic-task-overrides" nonce="([^"]+)">', response.content.decode()
        )
        policy, _ = headers_of(response)
        assert policy["script-src"] == ["'self'", f"'nonce-{nonce}'"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_no_page_template_has_an_inline_style_script_or_event_handler():
    # What the policies would refuse in the browser, caught before it gets there: emails
    # (styled inline for mail readers) are not pages; a script that must stay inline takes
    # the response's nonce.
    from django.conf import settings

    root = settings.BASE_DIR / "templates"
    pages = [p for p in root.rglob("*.html") if "email" not in p.relative_to(root).parts]
    assert len(pages) > 20
    refused = re.compile(
        r"""\sstyle\s*=|<style|<script(?![^>]*\b(?:src|nonce)=)|\son[a-z]+\s*=|javascript:""",
        re.IGNORECASE,
    )
    found = {
        str(page.relative_to(root)): refused.findall(page.read_text())
        for page in pages
        if refused.search(page.read_text())
    }
    assert found == {}


def test_the_candidate_apis_own_asgi_chain_sets_both_headers():
    # The candidate API is served by config.asgi.CandidateAPIHandler with
    # CANDIDATE_API_MIDDLEWARE, not MIDDLEWARE: the headers come from that chain too.
    from channels.testing import HttpCommunicator

    from config.asgi import application

    path = "/api/candidate/sessions/00000000-0000-0000-0000-000000000001/status/"
    response = async_to_sync(HttpCommunicator(application, "GET", path).get_response)()
    headers = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    assert response["status"] == 401
    policy = parse(headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"] and unsafe_script_sources(policy) == []
    assert_camera_off(headers["permissions-policy"])


def test_the_middleware_builds_the_headers_on_the_event_loop_not_a_thread(monkeypatch):
    threads = []

    async def view(request):
        threads.append(("view", threading.get_ident()))
        return HttpResponse("")

    middleware = SecurityHeadersMiddleware(view)
    assert iscoroutinefunction(middleware)
    original = middleware.process_response

    def process_response(request, response):
        threads.append(("headers", threading.get_ident()))
        return original(request, response)

    monkeypatch.setattr(middleware, "process_response", process_response)
    response = async_to_sync(middleware)(RequestFactory().get("/api/candidate/x/"))
    assert "Content-Security-Policy" in response and "Permissions-Policy" in response
    [(_, view_thread), (_, headers_thread)] = threads
    assert headers_thread == view_thread
