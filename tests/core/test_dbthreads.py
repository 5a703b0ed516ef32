"""The database threads of an event loop: a fixed number, each key's work in the order it
was handed over, other keys' work going on meanwhile."""

import asyncio
import threading
import time

import pytest

from core.dbthreads import DatabaseThreads


def keys_on_different_threads(threads: DatabaseThreads) -> tuple[str, str]:
    first = "key-0"
    for n in range(1, 100):
        if threads._executor(f"key-{n}") is not threads._executor(first):
            return first, f"key-{n}"
    raise AssertionError("every key on one thread")


def test_each_keys_work_runs_in_the_order_it_was_handed_over():
    threads = DatabaseThreads(4)
    done: dict[str, list[int]] = {f"session-{k}": [] for k in range(8)}

    def work(key, n):
        time.sleep((n * 7 % 5) / 2000)  # uneven durations: a pool would let later ones pass
        done[key].append(n)

    async def scenario():
        await asyncio.gather(*(threads.run(key, work, key, n) for n in range(30) for key in done))

    asyncio.run(scenario())
    threads.close()
    assert all(order == list(range(30)) for order in done.values())


def test_no_more_threads_than_the_size_however_many_keys():
    threads = DatabaseThreads(3)

    async def scenario():
        return await asyncio.gather(
            *(threads.run(f"call-{n}", threading.get_ident) for n in range(200))
        )

    used = set(asyncio.run(scenario()))
    threads.close()
    assert len(used) == 3
    assert threads.threads == used


def test_one_key_waiting_does_not_hold_up_the_others():
    threads = DatabaseThreads(2)
    blocked, other = keys_on_different_threads(threads)
    release = threading.Event()

    async def scenario():
        stuck = asyncio.ensure_future(threads.run(blocked, release.wait, 10))
        assert await asyncio.wait_for(threads.run(other, lambda: "done"), 5) == "done"
        assert not stuck.done()
        release.set()
        return await stuck

    assert asyncio.run(scenario()) is True
    threads.close()


def test_work_handed_over_runs_even_if_its_caller_gives_up():
    threads = DatabaseThreads(1)
    release, ran = threading.Event(), []

    async def scenario():
        first = asyncio.ensure_future(threads.run("k", release.wait, 10))
        second = asyncio.ensure_future(threads.run("k", ran.append, "written"))
        await asyncio.sleep(0.05)
        second.cancel()  # the follower stops waiting for its write
        release.set()
        await first

    asyncio.run(scenario())
    threads.close()  # waits for what was handed over
    assert ran == ["written"]


def test_a_size_below_one_is_refused():
    with pytest.raises(ValueError):
        DatabaseThreads(0)


def test_drain_waits_for_the_work_handed_over():
    threads = DatabaseThreads(2)
    ran = []

    async def hand_over():
        gate = threading.Event()
        slow = asyncio.ensure_future(threads.run("a", lambda: (gate.wait(5), ran.append("a"))))
        await asyncio.sleep(0)
        return gate, slow

    loop = asyncio.new_event_loop()
    try:
        gate, slow = loop.run_until_complete(hand_over())
        threading.Timer(0.2, gate.set).start()
        threads.drain()
        assert ran == ["a"]
        loop.run_until_complete(slow)
    finally:
        loop.close()
        threads.close()
