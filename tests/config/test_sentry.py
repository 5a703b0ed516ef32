"""Error tracking: with SENTRY_DSN set, errors reach Sentry - here a local fake of its
ingestion endpoint - with no email address, transcript text, credential, cookie or request
body anywhere in what was sent."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, RequestFactory
from django.urls import include, path

from config.sentry import WITHHELD, before_send, sentry_init
from tests.factories import InvitationFactory, UserFactory
from tests.support.sentry import fake_sentry  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

EMAIL = "ada.lovelace@example.com"
TRANSCRIPT = "I once lost a week of billing data to a bad migration, so now I test restores."
SECRET = "s3cr3t-invitation-token-abcdefghijkl"


def storing_an_answer(request):
    """A view that fails with the candidate's address and answer in its locals and message."""
    email = EMAIL  # noqa: F841 (a local variable Sentry could capture)
    transcript_line = TRANSCRIPT
    raise RuntimeError(f"could not store the answer of {EMAIL}: {transcript_line}")


urlpatterns = [
    path("test/answer/", storing_an_answer),
    path("", include("config.urls")),
]


@pytest.fixture
def sentry(fake_sentry):  # noqa: F811
    sentry_init(dsn=fake_sentry.dsn, environment="test")
    yield fake_sentry
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.init()  # no DSN: nothing is sent from the other tests


def assert_no_personal_data(raw: bytes):
    text = raw.decode("utf-8", "replace")
    for needle in (EMAIL, "ada.lovelace%40example.com", "lovelace", TRANSCRIPT, "billing data"):
        assert needle not in text, needle
    for needle in (SECRET, "sessionid", "csrftoken"):
        assert needle not in text, needle


@pytest.mark.urls(__name__)
def test_an_error_in_a_view_reaches_sentry_without_personal_data(sentry):
    user = UserFactory(email=EMAIL, username=EMAIL, first_name="Ada", last_name="Lovelace")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    client.cookies["csrftoken"] = SECRET
    response = client.post(
        f"/test/answer/?email={EMAIL}&token={SECRET}",
        data={"email": EMAIL, "answer": TRANSCRIPT},
        HTTP_AUTHORIZATION=f"Bearer {SECRET}",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)

    events = sentry.wait_for_events()
    [error] = [e for e in events if e.get("exception")]
    [exception] = error["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == WITHHELD
    frames = exception["stacktrace"]["frames"]
    assert any(frame["function"] == "storing_an_answer" for frame in frames)
    assert all("vars" not in frame for frame in frames)
    assert error["transaction"] == "/test/answer/"
    assert error["user"] in ({"id": str(user.pk)}, {})
    assert_no_personal_data(sentry.raw())
    assert "203.0.113.9" not in sentry.raw().decode()


def test_a_performance_trace_of_a_candidate_page_arrives_without_the_token_or_address(
    fake_sentry,  # noqa: F811
    tenant_a,
):
    # Traces go through their own hook (before_send_transaction), not before_send.
    sentry_init(dsn=fake_sentry.dsn, environment="test", traces_sample_rate=1.0)
    try:
        token = "T" * 20 + SECRET
        InvitationFactory(tenant=tenant_a, token=token)
        environ = RequestFactory()._base_environ(
            PATH_INFO="/i/" + token,
            QUERY_STRING="email=ada.lovelace%40example.com",
            REQUEST_METHOD="GET",
            HTTP_FLY_CLIENT_IP="198.51.100.23",
        )
        b"".join(WSGIHandler()(environ, lambda *args: None))
        sentry_sdk.flush(timeout=5)
        deadline = time.monotonic() + 10
        while not any(
            header.get("type") == "transaction"
            for envelope in fake_sentry.envelopes
            for header, _ in envelope.items
        ):
            assert time.monotonic() < deadline, "no trace reached the fake"
            time.sleep(0.05)
        assert_no_personal_data(fake_sentry.raw())
        assert "198.51.100.23" not in fake_sentry.raw().decode()
    finally:
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.init()


def test_an_error_logged_with_personal_data_in_its_fields_arrives_without_it(sentry):
    logger = logging.getLogger("interviews.services.transcript")
    logger.error(
        "transcript entry refused for %s",
        EMAIL,
        extra={"call": "rtc_4f1c2d7e", "attempt": 2, "error": f"{EMAIL} said: {TRANSCRIPT}"},
    )
    sentry_sdk.flush(timeout=5)

    [event] = sentry.wait_for_events()
    assert event["logentry"]["message"] == "transcript entry refused for %s"
    assert event["extra"]["call"] == "rtc_4f1c2d7e" and event["extra"]["attempt"] == 2
    assert event["extra"]["error"] == WITHHELD
    assert_no_personal_data(sentry.raw())


def test_breadcrumbs_keep_a_log_lines_template_not_its_arguments(sentry):
    logging.getLogger("invitations").info("invitation sent to %s", EMAIL)
    logging.getLogger("invitations").error("sending failed")
    sentry_sdk.flush(timeout=5)

    [event] = sentry.wait_for_events()
    crumbs = event["breadcrumbs"]["values"]
    assert "invitation sent to %s" in [crumb.get("message") for crumb in crumbs]
    assert_no_personal_data(sentry.raw())


def project_exception(value: str) -> dict:
    return {"type": "IllegalTransition", "module": "interviews.services", "value": value}


def library_exception(value: str) -> dict:
    return {"type": "IntegrityError", "module": "django.db.utils", "value": value}


def test_only_the_projects_own_exceptions_keep_their_message_and_never_an_address():
    event = {
        "exception": {
            "values": [
                project_exception(f"Session of {EMAIL} cannot go from completed to live."),
                library_exception(f"Key (email)=({EMAIL}) already exists."),
            ]
        }
    }
    ours, theirs = before_send(event, {})["exception"]["values"]
    assert ours["value"] == "Session of [email] cannot go from completed to live."
    assert theirs["value"] == WITHHELD


def test_a_request_keeps_its_method_and_path_and_nothing_a_person_sent():
    # As the ASGI integration describes a request under daphne.
    event = {
        "request": {
            "method": "POST",
            "url": f"https://example.test/i/{SECRET}",
            "query_string": f"email={EMAIL}",
            "headers": {
                "Authorization": f"Bearer {SECRET}",
                "Cookie": f"sessionid={SECRET}",
                "Content-Type": "application/json",
                "X-Request-ID": "abc123",
                "Fly-Client-IP": "203.0.113.9",
                "Referer": f"https://example.test/?email={EMAIL}",
            },
            "cookies": {"sessionid": SECRET},
            "data": {"answer": TRANSCRIPT},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"id": "7", "email": EMAIL, "ip_address": "203.0.113.9", "username": EMAIL},
    }
    cleaned = before_send(event, {})
    assert cleaned["request"] == {
        "method": "POST",
        "url": "https://example.test/i/<token>",
        "headers": {"Content-Type": "application/json", "X-Request-ID": "abc123"},
    }
    assert cleaned["user"] == {"id": "7"}


def run_settings(env: dict) -> str:
    """Whether Sentry is on once the settings are loaded in a fresh process with ``env``."""
    code = (
        "import django, sentry_sdk; django.setup(); "
        "from django.conf import settings; "
        "client = sentry_sdk.get_client(); "
        "print(client.is_active(), client.options.get('send_default_pii'), "
        "client.options.get('include_local_variables'))"
    )
    environment = {
        **{k: v for k, v in os.environ.items() if k != "SENTRY_DSN"},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_sentry_starts_only_when_a_dsn_is_set_and_never_sends_default_personal_data():
    assert run_settings({}).startswith("False")
    on = run_settings({"SENTRY_DSN": "http://public@127.0.0.1:9/1"})
    assert on in {"True None False", "True False False"}
