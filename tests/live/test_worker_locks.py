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


def test_a_worker_lets_go_of_a_call_another_took_and_keeps_the_others(settings):
    settings.REALTIME_LOCK_TTL_SECONDS = 0.3
    calls = [f"rtc_lock_{uuid.uuid4().hex}" for _ in range(3)]

    async def scenario():
        first, second = two_workers()
        following = {call: asyncio.ensure_future(asyncio.Event().wait()) for call in calls}
        first.tasks.update(following)
        try:
            for call in calls:
                assert await first._claim(call)
            # The first worker stalled past its lock time on one call; the other took it.
            await first.redis.delete(LOCK_PREFIX + calls[1])
            assert await second._claim(calls[1])
            keeping = asyncio.ensure_future(first._keep_claims())  # all in one round trip
            await asyncio.sleep(0.5)
            keeping.cancel()
            await asyncio.sleep(0)
            assert following[calls[1]].cancelled()
            assert not following[calls[0]].done() and not following[calls[2]].done()
            for call in (calls[0], calls[2]):
                assert not await second._claim(call)
        finally:
            for task in following.values():
                task.cancel()
            await first.redis.delete(*(LOCK_PREFIX + call for call in calls))
            await close(first, second)

    asyncio.run(scenario())
