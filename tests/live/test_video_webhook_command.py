"""manage.py video_webhook against the api.video fake, over real HTTP: register (once), list,
delete, its errors, and a registration whose printed secret the platform then accepts."""

import re
from datetime import timedelta
from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from live.video.provider import WEBHOOK_EVENT_QUALITY_COMPLETED, get_video_provider
from tests.factories import SessionFactory, UserFactory
from tests.live.test_video_api import deliver, recorded, segments_of

SECRET_LINE = re.compile(r"fly secrets set APIVIDEO_WEBHOOK_SECRET=(\S+)")


def run(*args) -> str:
    out = StringIO()
    call_command("video_webhook", *args, stdout=out)
    return out.getvalue()


def test_register_makes_one_webhook_for_the_site_and_prints_its_secret_once(apivideo, settings):
    settings.SITE_URL = "https://interviews.example"
    output = run("register")
    (registration,) = apivideo.registrations.values()
    assert registration.url == "https://interviews.example/api/video/webhooks/"
    assert registration.events == [WEBHOOK_EVENT_QUALITY_COMPLETED]
    assert SECRET_LINE.search(output)[1] == registration.signature_secret
    assert registration.webhook_id in output

    again = run("register")
    assert len(apivideo.registrations) == 1  # nothing new
    assert "Already registered" in again and registration.webhook_id in again
    assert registration.signature_secret not in again


def test_register_with_a_url_and_list_without_secrets(apivideo):
    get_video_provider().create_webhook("https://other.example/", ["video.source.recorded"])
    output = run("register", "--url", "https://staging.example/api/video/webhooks/")
    secret = SECRET_LINE.search(output)[1]

    listing = run("list")
    lines = listing.splitlines()
    assert len(lines) == 2
    assert lines[1].split("\t")[1:] == [
        "https://staging.example/api/video/webhooks/",
        WEBHOOK_EVENT_QUALITY_COMPLETED,
    ]
    assert secret not in listing
    assert not any(r.signature_secret in listing for r in apivideo.registrations.values())


def test_a_webhook_for_another_event_at_our_url_does_not_count(apivideo, settings):
    settings.SITE_URL = "https://interviews.example"
    url = "https://interviews.example/api/video/webhooks/"
    get_video_provider().create_webhook(url, ["video.source.recorded"])
    assert SECRET_LINE.search(run("register"))
    assert len(apivideo.registrations) == 2


def test_delete_and_delete_again(apivideo):
    webhook = get_video_provider().create_webhook("https://a.example/", ["video.source.recorded"])
    assert f"Deleted {webhook.id}" in run("delete", webhook.id)
    assert not apivideo.registrations
    assert "nothing to delete" in run("delete", webhook.id)
    assert run("list") == "No webhooks are registered.\n"


def test_production_without_a_key_is_a_clear_error(apivideo, settings):
    settings.PRODUCTION = True
    settings.APIVIDEO_API_KEY = ""
    with pytest.raises(CommandError, match="APIVIDEO_API_KEY is not set"):
        run("register")
    assert not apivideo.registrations


def test_a_refused_key_or_an_unreachable_provider_is_a_clear_error(apivideo, settings):
    apivideo.api_key = "the-real-key"  # the settings' "test-key" is unknown to it now
    with pytest.raises(CommandError, match=r"refused the API key \(401\): check APIVIDEO_API_KEY"):
        run("list")

    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:9"  # nothing listens
    with pytest.raises(CommandError, match=r"Could not reach api\.video at http://127\.0\.0\.1:9"):
        run("register")


def test_a_bad_url_is_refused_before_asking_the_provider(apivideo):
    with pytest.raises(CommandError, match="must be an http"):
        run("register", "--url", "interviews.example/hook")
    assert not apivideo.registrations


@pytest.mark.django_db(transaction=True)
def test_the_registered_secret_is_what_the_platform_then_accepts(
    apivideo, settings, tenant_a, live_server
):
    """End to end: register at the fake for the running platform, set the printed secret, and
    the fake's signed deliveries make the recording ready; the old secret no longer works."""
    settings.SITE_URL = live_server.url
    secret = SECRET_LINE.search(run("register"))[1]
    settings.APIVIDEO_WEBHOOK_SECRET = secret
    session = SessionFactory(tenant=tenant_a, candidate__user=UserFactory(), status="live")

    recorded(session, apivideo)
    ours = [w for w in apivideo.webhooks if w.url == f"{live_server.url}/api/video/webhooks/"]
    assert len(ours) == 2  # one per quality
    deadline = timezone.now() + timedelta(seconds=10)
    while timezone.now() < deadline and not all(w.delivered for w in ours):
        httpx.get(f"{live_server.url}/healthz")  # give the server's thread a moment
    assert all(webhook.delivered for webhook in ours)
    assert segments_of(session)[0].status == "ready"

    signed_with_the_old_secret = next(w for w in apivideo.webhooks if not w.url)
    assert deliver(signed_with_the_old_secret).status_code == 401
