"""Several realtime workers share the calls through a Redis lock per call: never two
followers of one call, a living worker keeps its calls, and a dead worker's calls pass to
another once its locks lapse (REALTIME_LOCK_TTL_SECONDS). A worker restarted under the same
REALTIME_WORKER_ID takes its calls back at once, and a lock Redis lost (a restart) is taken
again by its holder rather than given up (found by fault injection, docs/reliability.md)."""

import asyncio
import threading
import time
import uuid

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from live import worker as worker_module
from live.sideband.store import database_threads
from live.worker import _EXTEND, LOCK_PREFIX, RealtimeWorker

TTL_MS = 6000


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
    # Long enough that a busy machine's pause between two extensions does not lapse it.
    settings.REALTIME_LOCK_TTL_SECONDS = 1.0
    call = f"rtc_lock_{uuid.uuid4().hex}"

    async def scenario():
        first, second = two_workers()
        following = asyncio.ensure_future(asyncio.Event().wait())  # stands for its follower
        first.tasks[call] = following
        keeping = asyncio.ensure_future(first._keep_claims())
        try:
            assert await first._claim(call)
            for _ in range(8):  # well past the lock time, in steps
                await asyncio.sleep(0.2)
                assert not await second._claim(call)
            assert not following.cancelled()
        finally:
            keeping.cancel()
            following.cancel()
            await first.redis.delete(LOCK_PREFIX + call)
            await close(first, second)

    asyncio.run(scenario())


def test_a_lock_taken_again_for_a_call_whose_follower_just_ended_is_let_go(settings):
    settings.REALTIME_LOCK_TTL_SECONDS = 1.0
    call = f"rtc_lock_{uuid.uuid4().hex}"

    async def scenario():
        first, second = two_workers()
        following = asyncio.ensure_future(asyncio.Event().wait())
        first.tasks[call] = following
        assert await first._claim(call)
        pipeline = first.redis.pipeline

        def ending_meanwhile(*args, **kwargs):
            batch = pipeline(*args, **kwargs)
            execute = batch.execute

            async def execute_after_the_follower_ended(*a, **k):
                # The follower ends during the round trip and lets go of its lock.
                first.tasks.pop(call, None)
                await second.redis.delete(LOCK_PREFIX + call)
                return await execute(*a, **k)

            batch.execute = execute_after_the_follower_ended
            return batch

        first.redis.pipeline = ending_meanwhile
        keeping = asyncio.ensure_future(first._keep_claims())
        try:
            await asyncio.sleep(0.8)  # one round (every third of the lock time)
            assert await second._claim(call)  # free at once, not after a lapsed lock
        finally:
            keeping.cancel()
            following.cancel()
            await second.redis.delete(LOCK_PREFIX + call)
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


def with_redis(worker: RealtimeWorker) -> RealtimeWorker:
    worker.redis = aioredis.Redis.from_url(settings.REDIS_URL)
    return worker


def named(name: str, settings) -> RealtimeWorker:
    settings.REALTIME_WORKER_ID = name
    return with_redis(RealtimeWorker())


@pytest.fixture
def call_id():
    import secrets

    return f"rtc_test_{secrets.token_hex(6)}"


def test_a_worker_restarted_under_its_name_takes_its_calls_back_at_once(settings, call_id):
    async def scenario():
        first = named("machine-1", settings)
        assert await first._claim(call_id)
        # kill -9: nothing released. Its restart, under the same name, does not wait 15 s.
        restarted = named("machine-1", settings)
        other = named("machine-2", settings)
        claims = (await restarted._claim(call_id), await other._claim(call_id))
        for worker in (first, restarted, other):
            await worker.redis.aclose()
        return claims

    assert asyncio.run(scenario()) == (True, False)


def test_without_a_name_a_restarted_process_is_another_worker(settings, call_id):
    settings.REALTIME_WORKER_ID = ""

    async def scenario():
        first, second = with_redis(RealtimeWorker()), with_redis(RealtimeWorker())
        second.identity = first.identity + "-next"  # another process id
        claims = (await first._claim(call_id), await second._claim(call_id))
        for worker in (first, second):
            await worker.redis.aclose()
        return claims

    assert asyncio.run(scenario()) == (True, False)


def test_a_lock_redis_lost_is_taken_again_by_its_holder_only(settings, call_id):
    async def scenario():
        holder = named("machine-1", settings)
        assert await holder._claim(call_id)
        key = LOCK_PREFIX + call_id
        await holder.redis.delete(key)  # Redis restarted without its keys

        kept = await holder.redis.eval(_EXTEND, 1, key, holder.identity, TTL_MS)
        owner = await holder.redis.get(key)
        stolen = await holder.redis.eval(_EXTEND, 1, key, "machine-2", TTL_MS)
        await holder.redis.aclose()
        return kept, owner, stolen

    assert asyncio.run(scenario()) == (1, b"machine-1", 0)


def test_a_follower_lets_go_of_its_call_only_after_the_writes_it_handed_over(settings, monkeypatch):
    settings.REALTIME_LOCK_TTL_SECONDS = 5.0
    call = f"rtc_lock_{uuid.uuid4().hex}"
    session_id = str(uuid.uuid4())
    written = threading.Event()

    def slow_write():
        time.sleep(0.5)
        written.set()

    class Follower:  # stands for SidebandSession: one write in flight when it is stopped
        def __init__(self, **kwargs):
            pass

        async def run(self):
            await database_threads().run(session_id, slow_write)

    monkeypatch.setattr(worker_module, "SidebandSession", Follower)

    async def scenario():
        first, second = two_workers()
        try:
            assert await first._claim(call)
            following = asyncio.ensure_future(first._follow(session_id, "tenant", call))
            await asyncio.sleep(0.1)
            following.cancel()  # a shutdown, or the lock lost: mid-write
            await asyncio.sleep(0.1)
            assert not written.is_set()
            assert not await second._claim(call)  # still ours while the write runs
            await asyncio.wait([following], timeout=5)
            assert written.is_set()
            assert await second._claim(call)  # let go once it has been written
        finally:
            await first.redis.delete(LOCK_PREFIX + call)
            await close(first, second)

    asyncio.run(scenario())
