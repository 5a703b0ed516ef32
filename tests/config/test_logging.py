"""Every log line leaves through the project's one redacting JSON handler, Django's included."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from config.logging import RequestContextFilter
from live.tokens import session_token_issue
from tests.factories import InvitationFactory, SessionFactory, UserFactory
from tests.live.test_sdp_proxy import OFFER

pytestmark = pytest.mark.django_db

# Loggers of Django, daphne and channels that report requests (and so their paths).
FRAMEWORK_LOGGERS = [
    "django",
    "django.request",
    "django.server",
    "django.security",
    "django.security.SuspiciousOperation",
    "django.channels.server",
    "daphne",
    "channels",
]


def handlers_reached(name: str) -> list[logging.Handler]:
    """The handlers a record logged on ``name`` reaches, as the logging module walks them."""
    found, logger = [], logging.getLogger(name)
    while logger is not None:
        found.extend(logger.handlers)
        logger = logger.parent if logger.propagate else None
    return found


def _pytests(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")


@pytest.fixture
def log_output():
    """What every stream handler reachable from the framework loggers writes, in one buffer
    (their own stream is the process's stderr, which pytest holds elsewhere)."""
    buffer = io.StringIO()
    handlers = {h for name in FRAMEWORK_LOGGERS for h in handlers_reached(name) if not _pytests(h)}
    streams = {h: h.setStream(buffer) for h in handlers if isinstance(h, logging.StreamHandler)}
    try:
        yield buffer
    finally:
        for handler, stream in streams.items():
            handler.setStream(stream)


@pytest.mark.parametrize("name", FRAMEWORK_LOGGERS)
def test_framework_loggers_reach_only_the_redacting_handler(name):
    reached = [h for h in handlers_reached(name) if not _pytests(h)]
    assert reached and all(
        any(isinstance(f, RequestContextFilter) for f in h.filters) for h in reached
    ), reached


@pytest.mark.parametrize(
    "fields",
    [
        {"expires_at": timezone.now() - timedelta(minutes=1)},
        {"revoked_at": timezone.now()},
        None,  # a token nobody issued
    ],
    ids=["expired", "revoked", "unknown"],
)
def test_an_unusable_invitation_link_is_logged_without_its_token(
    client, settings, log_output, tenant_a, fields
):
    settings.DEBUG = True  # development mode, where Django's own console handler would print
    token = "RawSecretToken-" + "k" * 30
    if fields is not None:
        InvitationFactory(tenant=tenant_a, token=token, **fields)
    response = client.get(f"/i/{token}")
    assert response.status_code in {404, 410}
    output = log_output.getvalue()
    assert "RawSecretToken" not in output
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line.get("path") for line in lines] == ["/i/<token>"]


def test_the_development_servers_access_line_is_redacted(log_output):
    # daphne's runserver logs each response with the path in a mapping argument.
    logging.getLogger("django.channels.server").warning(
        "HTTP %(method)s %(path)s %(status)s",
        {"method": "GET", "path": "/i/RawSecretToken-kkkkkkkkkk", "status": 410},
    )
    output = log_output.getvalue()
    assert "RawSecretToken" not in output
    assert json.loads(output)["message"] == "HTTP GET /i/<token> 410"


@pytest.mark.django_db(transaction=True)  # the proxy reads on connections of its own
def test_djangos_own_error_line_about_a_502_carries_its_request_id(client, settings, tenant_a):
    # Django logs a 4xx/5xx answer after the middleware is done with the request.
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens: the proxy says 502
    session = SessionFactory(tenant=tenant_a, candidate__user=UserFactory())
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    records = []
    handler = logging.Handler()
    handler.addFilter(RequestContextFilter())
    handler.emit = records.append
    logging.getLogger("django.request").addHandler(handler)
    try:
        response = client.post(
            f"/api/candidate/sessions/{session.pk}/sdp/",
            data=OFFER,
            content_type="application/sdp",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "probe-7"},
        )
    finally:
        logging.getLogger("django.request").removeHandler(handler)
    assert response.status_code == 502 and response["X-Request-ID"] == "probe-7"
    [error] = records
    assert error.levelname == "ERROR" and error.request_id == "probe-7"


def test_a_404_is_logged_once(client, log_output):
    assert client.get("/no-such-page/").status_code == 404
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    assert [(line["logger"], line.get("status")) for line in lines] == [("config.request", 404)]


def test_a_task_run_inline_leaves_the_requests_id_as_it_found_it():
    from core import requestcontext
    from live.tasks import expire_stale_sessions

    token = requestcontext.request_id.set("req-1")
    try:
        expire_stale_sessions.delay()  # eager in tests, as a request would run it inline
        assert requestcontext.request_id.get() == "req-1"
    finally:
        requestcontext.request_id.reset(token)
