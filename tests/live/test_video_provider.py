"""The api.video client (live.video.provider) against the local fake, over real HTTP."""

import hashlib
import hmac

import httpx
import pytest

from live.video.provider import (
    WEBHOOK_EVENT_QUALITY_COMPLETED,
    ApiVideo,
    VideoNotFound,
    VideoUpstreamUnavailable,
    get_video_provider,
)
from tests.support.apivideo import WEBHOOK_SECRET


def upload_in_parts(upload_url: str, video_id: str, parts: list[bytes]) -> list[dict]:
    """What the browser's progressive upload sends: ``part N/*``, the last ``part N/N``."""
    answers = []
    for number, data in enumerate(parts, start=1):
        total = str(number) if number == len(parts) else "*"
        response = httpx.post(
            upload_url,
            files={"file": ("part.webm", data, "video/webm")},
            data={"videoId": video_id},
            headers={"Content-Range": f"part {number}/{total}"},
        )
        assert response.status_code == 201, response.text
        answers.append(response.json())
    return answers


def test_a_video_is_created_uploaded_in_three_parts_read_and_deleted(apivideo, tmp_path):
    provider = get_video_provider()
    video_id = provider.create_video("interview 1")
    token = provider.upload_token(3600, video_id)
    assert token.token and token.expires_at is not None
    assert token.upload_url == f"{apivideo.base_url}/upload?token={token.token}"

    before = provider.get_video(video_id)
    assert not before.playable and not before.uploaded and before.duration_seconds is None

    parts = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    answers = upload_in_parts(token.upload_url, video_id, parts)
    assert {answer["videoId"] for answer in answers} == {video_id}
    assert (tmp_path / "apivideo" / video_id / "source.mp4").read_bytes() == b"".join(parts)

    state = provider.get_video(video_id)
    assert state.playable and state.uploaded and state.duration_seconds == 15
    assert state.player_url.endswith(f"/vod/{video_id}")
    assert state.thumbnail_url and state.hls_url and state.mp4_url
    assert httpx.get(state.mp4_url).content == b"".join(parts)

    # One signed webhook per encoded quality.
    assert len(apivideo.webhooks) == 2
    for webhook in apivideo.webhooks:
        expected = hmac.new(WEBHOOK_SECRET.encode(), webhook.body, hashlib.sha256).hexdigest()
        assert webhook.signature == expected
        assert provider.verify_webhook(webhook.body, webhook.signature)
        assert not provider.verify_webhook(webhook.body + b" ", webhook.signature)
    assert not provider.verify_webhook(apivideo.webhooks[0].body, "")

    assert provider.delete_video(video_id) is True
    assert provider.delete_video(video_id) is False  # a 404: already gone, which is fine
    assert not (tmp_path / "apivideo" / video_id).exists()
    with pytest.raises(VideoNotFound):
        provider.get_video(video_id)


def test_an_upload_without_a_live_token_is_refused(apivideo):
    provider = get_video_provider()
    video_id = provider.create_video("interview 2")
    response = httpx.post(
        f"{apivideo.base_url}/upload?token=nope",
        files={"file": ("part.webm", b"x", "video/webm")},
        data={"videoId": video_id},
    )
    assert response.status_code == 401
    assert not provider.get_video(video_id).uploaded


def test_the_fake_lets_a_page_upload_cross_origin_and_can_be_told_to_fail(apivideo):
    provider = get_video_provider()
    video_id = provider.create_video("interview 1")
    token = provider.upload_token(60, video_id)
    preflight = httpx.options(
        token.upload_url,
        headers={
            "Origin": "http://127.0.0.1:1",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-range",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Range" in preflight.headers["Access-Control-Allow-Headers"]

    apivideo.fail_uploads = 1
    failed = httpx.post(
        token.upload_url,
        files={"file": ("part.webm", b"x", "video/webm")},
        data={"videoId": video_id},
        headers={"Content-Range": "part 1/*"},
    )
    assert failed.status_code == 500 and failed.headers["Access-Control-Allow-Origin"] == "*"
    assert apivideo.fail_uploads == 0 and apivideo.videos[video_id].parts == {}
    upload_in_parts(token.upload_url, video_id, [b"a", b"b"])  # it works again
    assert apivideo.videos[video_id].encoded


# --- Webhook registrations ------------------------------------------------------------------


def test_a_webhook_is_registered_listed_and_deleted(apivideo):
    provider = get_video_provider()
    url = "https://platform.example/api/video/webhooks/"
    webhook = provider.create_webhook(url, [WEBHOOK_EVENT_QUALITY_COMPLETED])
    assert webhook.id.startswith("webhook_") and webhook.url == url
    assert webhook.events == (WEBHOOK_EVENT_QUALITY_COMPLETED,)
    assert webhook.signature_secret == apivideo.registrations[webhook.id].signature_secret
    assert webhook.signature_secret not in repr(webhook)  # it cannot slip into a log line

    other = provider.create_webhook("https://elsewhere.example/hook", ["video.source.recorded"])
    assert [w.id for w in provider.list_webhooks()] == [webhook.id, other.id]
    assert provider.list_webhooks(WEBHOOK_EVENT_QUALITY_COMPLETED) == [webhook]

    assert provider.delete_webhook(webhook.id) is True
    assert provider.delete_webhook(webhook.id) is False  # a 404: already gone
    assert provider.list_webhooks() == [other]


def test_the_list_follows_every_page(apivideo, monkeypatch):
    monkeypatch.setattr(ApiVideo, "webhook_page_size", 2)
    provider = get_video_provider()
    made = [
        provider.create_webhook(f"https://h{n}.example/", ["video.source.recorded"])
        for n in range(5)
    ]
    assert provider.list_webhooks() == made

    page = httpx.get(
        f"{apivideo.base_url}/webhooks",
        params={"currentPage": 3, "pageSize": 2},
        auth=("test-key", ""),
    ).json()
    assert [item["webhookId"] for item in page["data"]] == [made[4].id]
    assert page["pagination"] | {"links": None} == {
        "currentPage": 3,
        "currentPageItems": 1,
        "pageSize": 2,
        "pagesTotal": 3,
        "itemsTotal": 5,
        "links": None,
    }


def test_the_fake_refuses_webhook_calls_without_a_key_or_with_a_bad_body(apivideo):
    base = apivideo.base_url
    assert httpx.get(f"{base}/webhooks").status_code == 401
    assert (
        httpx.post(
            f"{base}/webhooks", json={"url": "https://a.example/", "events": []}, auth=("k", "")
        ).status_code
        == 400
    )
    assert (
        httpx.post(
            f"{base}/webhooks",
            json={"url": "ftp://a", "events": ["video.source.recorded"]},
            auth=("k", ""),
        ).status_code
        == 400
    )
    assert httpx.get(f"{base}/webhooks/webhook_nope", auth=("k", "")).status_code == 404


def test_a_provider_refusing_webhook_calls_raises_its_errors(apivideo, settings):
    settings.APIVIDEO_BASE_URL = f"{apivideo.base_url}/nowhere"  # every route a 404
    provider = get_video_provider()
    with pytest.raises(VideoNotFound):
        provider.list_webhooks()
    settings.APIVIDEO_BASE_URL = "http://127.0.0.1:9"  # nothing listens
    with pytest.raises(VideoUpstreamUnavailable):
        get_video_provider().create_webhook("https://a.example/", [WEBHOOK_EVENT_QUALITY_COMPLETED])


def test_a_registered_url_gets_the_webhooks_signed_with_its_own_secret(apivideo):
    provider = get_video_provider()
    url = "http://127.0.0.1:9/api/video/webhooks/"  # nothing listens: sent, never delivered
    webhook = provider.create_webhook(url, [WEBHOOK_EVENT_QUALITY_COMPLETED])
    provider.create_webhook("http://127.0.0.1:9/other", ["video.source.recorded"])  # not this
    video_id = provider.create_video("interview 3")
    upload_in_parts(provider.upload_token(60, video_id).upload_url, video_id, [b"a"])

    # The start-up target (no URL in the tests: kept, not sent), then the registered URL.
    assert [w.url for w in apivideo.webhooks] == ["", url, "", url]
    for delivery in apivideo.webhooks:
        secret = webhook.signature_secret if delivery.url == url else WEBHOOK_SECRET
        assert (
            delivery.signature
            == hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
        )


def test_a_registered_start_up_url_is_sent_once_with_the_registration_secret(apivideo):
    apivideo.webhook_url = "http://127.0.0.1:9/api/video/webhooks/"  # nothing listens
    provider = get_video_provider()
    webhook = provider.create_webhook(apivideo.webhook_url, [WEBHOOK_EVENT_QUALITY_COMPLETED])
    video_id = provider.create_video("interview 4")
    upload_in_parts(provider.upload_token(60, video_id).upload_url, video_id, [b"a"])
    assert [w.url for w in apivideo.webhooks] == [apivideo.webhook_url] * 2
    expected = hmac.new(
        webhook.signature_secret.encode(), apivideo.webhooks[0].body, hashlib.sha256
    ).hexdigest()
    assert apivideo.webhooks[0].signature == expected
