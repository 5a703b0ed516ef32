"""The realtime workers' call locks (Redis): one worker per call, a worker restarted under the
same REALTIME_WORKER_ID takes its calls back at once, and a lock Redis lost (a restart) is
taken again by its holder rather than given up. Found by fault injection
(docs/reliability.md: kill -9 of the realtime worker, Redis restart)."""

import asyncio

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from live.worker import _EXTEND, LOCK_PREFIX, LOCK_TTL_MS, RealtimeWorker


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

        kept = await holder.redis.eval(_EXTEND, 1, key, holder.identity, LOCK_TTL_MS)
        owner = await holder.redis.get(key)
        stolen = await holder.redis.eval(_EXTEND, 1, key, "machine-2", LOCK_TTL_MS)
        await holder.redis.aclose()
        return kept, owner, stolen

    assert asyncio.run(scenario()) == (1, b"machine-1", 0)
