"""The api.video fake (devtools.apivideo) served on a free port for the tests, and the
settings that point the platform at it."""

from __future__ import annotations

import pytest

from devtools.apivideo.server import FakeApiVideo
from live.video import provider as video_provider

from .realtime import Served

WEBHOOK_SECRET = "test-webhook-secret"


def serve_apivideo(data_dir, **options) -> tuple[Served, FakeApiVideo]:
    fake = FakeApiVideo(data_dir, webhook_secret=WEBHOOK_SECRET, **options)
    served = Served(fake.app())
    served.base_url = f"http://127.0.0.1:{served.port}"
    fake.base_url = served.base_url
    return served, fake


@pytest.fixture
def apivideo(tmp_path, settings):
    """The fake, with the platform's settings pointing at it; webhooks are kept in
    ``fake.webhooks`` (not sent) unless a test sets ``fake.webhook_url``."""
    served, fake = serve_apivideo(tmp_path / "apivideo", webhook_retry_delay=0.05)
    settings.APIVIDEO_BASE_URL = served.base_url
    settings.APIVIDEO_API_KEY = "test-key"
    settings.APIVIDEO_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.APIVIDEO_UPLOAD_BASE_URL = ""
    settings.VIDEO_DELETE_BACKOFF_SECONDS = 0.01
    yield fake
    for provider in video_provider._providers.values():
        provider.close()
    video_provider._providers.clear()
    served.close()
