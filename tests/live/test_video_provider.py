"""The api.video client (live.video.provider) against the local fake, over real HTTP."""

import hashlib
import hmac

import httpx
import pytest

from live.video.provider import VideoNotFound, get_video_provider
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
