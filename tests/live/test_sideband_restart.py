"""A follower restarted in the middle of a call (its realtime worker killed before it had
recorded starting the interviewer) hands the call only what earlier calls heard, never the
call's own conversation back as if it were an earlier call's: the provider would hear every
answer twice, and take the copies for new answers. Found by fault injection
(docs/reliability.md: kill -9 of the realtime worker)."""

import asyncio

import pytest

from live.provider import get_provider
from live.sideband import SidebandSession
from live.sideband.conversation import ConversationOrder
from tests.factories import SessionEventFactory, SessionFactory, TranscriptEntryFactory

pytestmark = pytest.mark.django_db(transaction=True)


def said(session, seq, item, text):
    TranscriptEntryFactory(
        session=session, seq=seq, speaker="interviewer", text=text, provider_item_id=item
    )


def test_a_restarted_follower_hands_over_only_what_earlier_calls_heard(tenant_a):
    session = SessionFactory(tenant=tenant_a, status="live", provider_call_id="rtc_second")
    SessionEventFactory(session=session, kind="sideband.attached", data={"call_id": "rtc_first"})
    said(session, 1, "item_a", "Asked on the first call?")
    SessionEventFactory(session=session, kind="sideband.attached", data={"call_id": "rtc_second"})
    said(session, 2, "item_b", "Asked on the second call, before its follower died?")

    restarted = SidebandSession(
        session_id=str(session.pk),
        tenant_id=str(session.tenant_id),
        call_id="rtc_second",
        provider=get_provider(),
    )
    history, _ = asyncio.run(restarted.conversation.stored_so_far())

    assert [text for _, _, text in history] == ["Asked on the first call?"]


def test_without_the_attach_record_the_calls_connection_is_the_cut_off(tenant_a):
    # Writing "sideband.attached" is best-effort: when it failed, the status change that
    # recorded the call (written with it, in one statement) marks where the call began.
    session = SessionFactory(tenant=tenant_a, status="live", provider_call_id="rtc_second")
    said(session, 1, "item_a", "Asked on the first call?")
    SessionEventFactory(
        session=session,
        kind="status_changed",
        data={"from": "live", "to": "connecting", "call_id": "rtc_second"},
    )
    said(session, 2, "item_b", "Asked on the second call, before its follower died?")

    restarted = SidebandSession(
        session_id=str(session.pk),
        tenant_id=str(session.tenant_id),
        call_id="rtc_second",
        provider=get_provider(),
    )
    history, _ = asyncio.run(restarted.conversation.stored_so_far())

    assert [text for _, _, text in history] == ["Asked on the first call?"]


def test_a_follower_that_attached_mid_turn_still_puts_a_late_answer_before_the_next_question():
    # Attached after the candidate's answer was committed (item_a1), before the next
    # question joined the conversation after it; the answer's transcription comes last.
    order = ConversationOrder()
    order.seen("item_q2")
    order.place("item_q2", "item_a1")

    assert order.after("item_a1", ["item_q2"]) == ["item_q2"]
