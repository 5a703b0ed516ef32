"""Several realtime workers share the calls through a Redis lock per call: never two
followers of one call, a living worker keeps its calls, and a dead worker's calls pass to
another once its locks lapse (REALTIME_LOCK_TTL_SECONDS)."""

import asyncio
import uuid

import redis.asyncio as aioredis
from django.conf import settings

from live.worker import LOCK_PREFIX, RealtimeWorker


def two_workers() -> tuple[RealtimeWorker, RealtimeWorker]:
    first, second = RealtimeWorker(), RealtimeWorker()
    second.identity += ":second"  # another process
    for worker in (first, second):
        worker.redis = aioredis.Redis.from_url(settings.REDIS_URL)
    return first, second


async def close(*workers) -> None:
    for worker in workers:
        await worker.redis.aclose()


def test_a_dead_workers_call_passes_to_another_once_its_lock_lapses(settings):
    settings.REALTIME_LOCK_TTL_SECONDS = 0.5
    call = f"rtc_lock_{uuid.uuid4().hex}"

    async def scenario():
        first, second = two_workers()
        try:
            assert await first._claim(call)
            assert not await second._claim(call)  # never two followers at once
            assert 0 < await first.redis.pttl(LOCK_PREFIX + call) <= 500
            await asyncio.sleep(0.7)  # the first worker died: nothing extends its lock
            assert await second._claim(call)
            assert not await first._claim(call)
        finally:
            await first.redis.delete(LOCK_PREFIX + call)
            await close(first, second)

    asyncio.run(scenario())


def test_a_living_worker_keeps_its_calls_past_the_lock_time(settings):
    settings.REALTIME_LOCK_TTL_SECONDS = 0.3
    call = f"rtc_lock_{uuid.uuid4().hex}"

    async def scenario():
        first, second = two_workers()
        following = asyncio.ensure_future(asyncio.Event().wait())  # stands for its follower
        first.tasks[call] = following
        keeping = asyncio.ensure_future(first._keep_claims())
        try:
            assert await first._claim(call)
            for _ in range(5):  # well past the lock time, in steps
                await asyncio.sleep(0.2)
                assert not await second._claim(call)
            assert not following.cancelled()
        finally:
            keeping.cancel()
            following.cancel()
            await first.redis.delete(LOCK_PREFIX + call)
            await close(first, second)

    asyncio.run(scenario())
