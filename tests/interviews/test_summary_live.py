"""A recruiter watching the session live sees its AI summary asked for, being written and
written, numbered with the rest of the session's updates (live.watch)."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from config.asgi import application
from core.publish import publisher
from tests.live.test_watch import HOST, cookie_for, end, member, path_for
from tests.support.summaries import interview

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.summaries]


def test_the_live_panel_follows_the_summary_from_asked_for_to_written(tenant_a, upstream):
    session = interview(tenant_a)
    cookie = cookie_for(member(tenant_a))

    @async_to_sync
    async def run():
        communicator = WebsocketCommunicator(
            application, path_for(session), headers=[*HOST, (b"cookie", cookie)]
        )
        assert (await communicator.connect())[0]
        messages = [await communicator.receive_json_from(timeout=5)]
        await asyncio.to_thread(end, session)  # the summary task runs on commit (eagerly)
        await asyncio.to_thread(publisher.flush)
        while not await communicator.receive_nothing(timeout=1):
            messages.append(await communicator.receive_json_from())
        await communicator.disconnect()
        return messages

    snapshot, *pushes = run()
    assert snapshot["summary"] is None  # none asked for while the interview runs
    seqs = [m["seq"] for m in pushes]
    assert sorted(seqs) == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(seqs)))
    in_order = sorted(pushes, key=lambda m: m["seq"])
    summaries = [m["summary"] for m in in_order if m["kind"] == "summary"]
    assert [s["status"] for s in summaries] == ["pending", "running", "ready"]
    assert summaries[-1]["summary"].startswith("Simulated summary")
    assert summaries[-1]["overall_rating"] == "3.5" and summaries[-1]["recommendation"] == "Yes"
