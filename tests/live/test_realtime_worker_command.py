"""``manage.py realtime_worker``: the process keeps what it loaded at start out of the garbage
collector's full passes (they paused every call's work on a busy worker)."""

import gc

from django.core.management import call_command

from live.worker import RealtimeWorker


def test_what_the_worker_loaded_is_kept_out_of_full_collections(monkeypatch):
    frozen = []

    async def run(self, stop=None):
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr(RealtimeWorker, "run", run)
    try:
        call_command("realtime_worker")
    finally:
        gc.unfreeze()
    assert frozen and frozen[0] > 10_000  # Django and the apps, at least
