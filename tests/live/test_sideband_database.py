"""The followers' database work across the worker's database threads
(REALTIME_DB_CONNECTIONS): each session's writes in order, no more connections than the
setting however many calls are followed."""

import asyncio

import pytest
from django.db import connection

from core import rls
from interviews.models import InterviewSession, Speaker, TranscriptEntry
from live.sideband.store import CallGone, SessionStore, database_threads
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def stores(tenant, count: int) -> list[SessionStore]:
    sessions = [
        SessionFactory(tenant=tenant, status="live", provider_call_id=f"rtc_db{n}")
        for n in range(count)
    ]
    return [
        SessionStore(session_id=str(s.pk), tenant_id=str(s.tenant_id), call_id=s.provider_call_id)
        for s in sessions
    ]


def test_each_sessions_transcript_keeps_its_order_across_several_database_threads(
    settings, tenant_a
):
    settings.REALTIME_DB_CONNECTIONS = 3
    followed = stores(tenant_a, 10)  # all ten on one of three threads: 1 in 20,000

    async def scenario():
        # Every session's utterances handed over at once, as many calls' events arrive.
        await asyncio.gather(
            *(
                store.transcript_append(
                    speaker=Speaker.CANDIDATE, text=f"utterance {n}", item_id=f"item_{n}"
                )
                for n in range(20)
                for store in followed
            )
        )

    asyncio.run(scenario())
    assert len(database_threads().threads) > 1  # the work really was spread
    with rls.tenant_context(tenant_a.pk):
        for store in followed:
            texts = list(
                TranscriptEntry.objects.filter(session_id=store.session_id)
                .order_by("seq")
                .values_list("text", flat=True)
            )
            assert texts == [f"utterance {n}" for n in range(20)]


def test_no_more_database_connections_than_the_setting_however_many_calls(settings, tenant_a):
    settings.REALTIME_DB_CONNECTIONS = 2
    followed = stores(tenant_a, 30)

    def backend(session):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    async def scenario():
        return await asyncio.gather(*(store.run(backend) for store in followed for _ in range(3)))

    assert len(set(asyncio.run(scenario()))) == 2


def test_an_append_to_a_session_gone_or_of_another_tenant_stops_the_follower(tenant_a, tenant_b):
    # The append does not read the session first: taking its update number finds it gone.
    (store,) = stores(tenant_a, 1)
    wrong_tenant = SessionStore(
        session_id=store.session_id, tenant_id=str(tenant_b.pk), call_id=store.call_id
    )

    async def append(to):
        await to.transcript_append(speaker=Speaker.CANDIDATE, text="Hello.", item_id="item_1")

    with pytest.raises(CallGone):
        asyncio.run(append(wrong_tenant))
    asyncio.run(append(store))  # the tenant's own follower writes
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=store.session_id).delete()
    with pytest.raises(CallGone):
        asyncio.run(append(store))
    with rls.bypass_context():
        assert TranscriptEntry.objects.filter(session_id=store.session_id).count() == 0
