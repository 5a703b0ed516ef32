"""Recruiters watching a session live (live.watch): who is admitted, across tenants and roles;
the snapshot and the numbered stream after it, with no gap and no duplicate; catching up."""

import asyncio
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from config.asgi import application
from core import rls
from core.publish import publisher
from interviews import services
from interviews.models import InterviewSession, SessionStatus, TranscriptEntry
from live import watch
from tenants import selectors as tenant_selectors
from tenants.models import AuditEvent, Role
from tests.factories import MembershipFactory, SessionFactory, UserFactory

# The consumer reads on its own threads and updates are pushed after commit.
pytestmark = pytest.mark.django_db(transaction=True)

HOST = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def cookie_for(user, *, second_factor=True) -> bytes:
    """The session cookie of a browser signed in as ``user`` (with the second factor, if they
    have one, unless ``second_factor`` is False)."""
    client = Client()
    client.force_login(user)
    state = tenant_selectors.two_factor_state(user)
    if state and second_factor:
        session = client.session
        session[tenant_selectors.TWO_FACTOR_SESSION_KEY] = state
        session.save()
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def member(tenant, role=Role.VIEWER):
    user = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


def path_for(session, since=None) -> str:
    suffix = f"?since={since}" if since is not None else ""
    return f"/ws/sessions/{session.pk}/live/{suffix}"


async def opened(path, user=None, extra=()):
    headers = [*HOST, *extra]
    if user is not None:
        headers.append((b"cookie", await asyncio.to_thread(cookie_for, user)))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def closed_with(communicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message["code"]


def append(session, text, speaker="candidate", item_id="", before=()):
    with rls.tenant_context(session.tenant_id):
        fresh = InterviewSession.objects.get(pk=session.pk)
        entry, _ = services.transcript_append(
            session=fresh, speaker=speaker, text=text, item_id=item_id, before_item_ids=before
        )
    return entry


@pytest.fixture
def session(tenant_a):
    return SessionFactory(tenant=tenant_a, status=SessionStatus.LIVE, started_at=timezone.now())


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RECRUITER, Role.ADMIN, Role.OWNER])
def test_every_member_of_the_sessions_tenant_watches_it(session, tenant_a, role):
    append(session, "Hello, I am ready.")
    user = member(tenant_a, role)

    @async_to_sync
    async def run():
        communicator = await opened(path_for(session), user)
        snapshot = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return snapshot

    snapshot = run()
    assert snapshot["kind"] == "snapshot" and snapshot["since"] == 0
    assert [e["text"] for e in snapshot["entries"]] == ["Hello, I am ready."]
    assert snapshot["session"]["status"] == "live"
    assert snapshot["count"] == 1 and snapshot["seq"] >= 1


@pytest.mark.parametrize(
    "who, code",
    [
        ("anonymous", watch.CLOSE_NOT_SIGNED_IN),
        ("candidate", watch.CLOSE_FORBIDDEN),  # signed in, not a console user
        ("other_tenant", watch.CLOSE_NOT_FOUND),
        ("staff_without_tenant", watch.CLOSE_NOT_FOUND),
    ],
)
def test_anyone_else_is_closed_with_a_code_that_says_why(session, tenant_b, who, code):
    user = {
        "anonymous": None,
        "candidate": UserFactory(),
        "other_tenant": member(tenant_b, Role.OWNER),
        "staff_without_tenant": UserFactory(is_staff=True),
    }[who]

    @async_to_sync
    async def run():
        communicator = await opened(path_for(session), user)
        return await closed_with(communicator)

    assert run() == code


def test_an_unknown_session_is_not_found(tenant_a):
    user = member(tenant_a)

    @async_to_sync
    async def run():
        path = "/ws/sessions/00000000-0000-4000-8000-000000000000/live/"
        return await closed_with(await opened(path, user))

    assert run() == watch.CLOSE_NOT_FOUND


def test_a_tenants_network_list_applies_to_the_socket(session, tenant_a, settings):
    settings.CLIENT_IP_HEADER = "X-Client-IP"
    tenant_a.allowed_admin_networks = ["10.0.0.0/8", "2001:db8::/32"]
    with rls.bypass_context():
        tenant_a.save(update_fields=["allowed_admin_networks"])
    user = member(tenant_a)

    @async_to_sync
    async def run(ip):
        communicator = await opened(path_for(session), user, [(b"x-client-ip", ip)])
        message = await communicator.receive_output(timeout=5)
        await communicator.disconnect()
        return message

    assert run(b"192.0.2.7")["code"] == watch.CLOSE_FORBIDDEN
    assert run(b"2001:db9::1")["code"] == watch.CLOSE_FORBIDDEN
    assert "snapshot" in run(b"10.1.2.3")["text"]
    assert "snapshot" in run(b"2001:db8::5")["text"]


def test_an_operator_watches_any_tenant_and_the_view_is_audited(session, tenant_a):
    operator = UserFactory(is_staff=True, is_superuser=True)

    @async_to_sync
    async def run():
        communicator = await opened(path_for(session), operator)
        snapshot = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return snapshot

    assert run()["kind"] == "snapshot"
    with rls.tenant_context(tenant_a.pk):
        viewed = AuditEvent.objects.get(action="operator.viewed", target_id=str(session.pk))
    assert viewed.actor_id == operator.pk and viewed.details == {"page": "live"}


def test_the_database_wall_alone_stops_a_consumer_that_forgot_its_tenant_check(
    session, tenant_b, monkeypatch
):
    # A consumer whose admission let a member of tenant B through to tenant A's session
    # still reads as tenant B, and row-level security shows it nothing.
    intruder = member(tenant_b, Role.OWNER)
    monkeypatch.setattr(watch, "admit", lambda user, session_id, **kw: str(tenant_b.pk))
    append(session, "Private answer")

    @async_to_sync
    async def run():
        return await closed_with(await opened(path_for(session), intruder))

    assert run() == watch.CLOSE_NOT_FOUND
    assert watch.snapshot(str(tenant_b.pk), session.pk, 0) is None


def test_updates_follow_the_snapshot_in_order_after_they_commit(session, tenant_a):
    user = member(tenant_a)

    @async_to_sync
    async def run():
        communicator = await opened(path_for(session), user)
        snapshot = await communicator.receive_json_from(timeout=5)
        await asyncio.to_thread(append, session, "First answer")
        entry = await communicator.receive_json_from(timeout=5)
        await asyncio.to_thread(end, session)
        status = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return snapshot, entry, status

    snapshot, entry, status = run()
    assert entry["kind"] == "entry" and entry["seq"] == snapshot["seq"] + 1
    assert entry["entry"]["text"] == "First answer" and entry["entry"]["after"] is None
    assert status["kind"] == "status" and status["seq"] == entry["seq"] + 1
    assert status["session"]["status"] == "completed"


def end(session):
    with rls.tenant_context(session.tenant_id):
        fresh = InterviewSession.objects.get(pk=session.pk)
        services.session_end(session=fresh, reason="interview_complete")


def test_entries_written_while_the_socket_connects_arrive_once_with_no_gap(session, tenant_a):
    """A writer appends entries the whole time a viewer connects: the snapshot plus the pushes
    after it hold every entry exactly once, numbered without a gap."""
    user = member(tenant_a)
    cookie = cookie_for(user)
    for n in range(5):
        append(session, f"before {n}", speaker="interviewer" if n % 2 else "candidate")
    stop = threading.Event()
    written = []

    def writer():
        n = 0
        while not stop.is_set() and n < 400:
            written.append(append(session, f"during {n}").pk)
            n += 1

    @async_to_sync
    async def run():
        thread = threading.Thread(target=writer)
        thread.start()
        await asyncio.sleep(0.05)
        communicator = WebsocketCommunicator(
            application, path_for(session), headers=[*HOST, (b"cookie", cookie)]
        )
        assert (await communicator.connect())[0]
        messages = [await communicator.receive_json_from(timeout=5)]
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.to_thread(thread.join)
        await asyncio.to_thread(publisher.flush)
        while not await communicator.receive_nothing(timeout=1):
            messages.append(await communicator.receive_json_from())
        await communicator.disconnect()
        return messages

    messages = run()
    snapshot, pushes = messages[0], messages[1:]
    assert snapshot["kind"] == "snapshot" and pushes, "entries were written while connecting"
    seqs = sorted(m["seq"] for m in pushes)
    assert seqs == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(seqs)))
    seen = [e["id"] for e in snapshot["entries"]] + [m["entry"]["id"] for m in pushes]
    with rls.tenant_context(tenant_a.pk):
        stored = [
            str(pk)
            for pk in TranscriptEntry.objects.filter(session=session)
            .values_list("pk", flat=True)
            .order_by("seq")
        ]
    assert len(seen) == len(set(seen)) == len(stored)
    assert set(seen) == set(stored)
    assert len(snapshot["entries"]) >= 5 and len(written) > 0


def test_a_viewer_catches_up_from_the_last_number_it_saw(session, tenant_a):
    user = member(tenant_a)
    append(session, "one", item_id="item_1")
    with rls.tenant_context(tenant_a.pk):
        seen = InterviewSession.objects.get(pk=session.pk).live_seq
    append(session, "three", item_id="item_3")
    # A late transcription of something said between the two.
    two = append(session, "two", item_id="item_2", before=["item_3"])

    @async_to_sync
    async def run():
        communicator = await opened(path_for(session, since=seen), user)
        caught_up = await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"type": "resync", "since": caught_up["seq"]})
        nothing_new = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return caught_up, nothing_new

    caught_up, nothing_new = run()
    assert caught_up["since"] == seen and caught_up["count"] == 3
    texts = [(e["text"], e["after"]) for e in caught_up["entries"]]
    with rls.tenant_context(tenant_a.pk):
        one = TranscriptEntry.objects.get(provider_item_id="item_1")
    assert texts == [("two", str(one.pk)), ("three", str(two.pk))]
    assert nothing_new["entries"] == [] and nothing_new["seq"] == caught_up["seq"]


def test_the_proxys_connect_step_is_pushed_with_its_number(tenant_a):
    from interviews.services import ConnectTarget, session_connect_async

    pending = SessionFactory(tenant=tenant_a)
    user = member(tenant_a)

    @async_to_sync
    async def run():
        communicator = await opened(path_for(pending), user)
        snapshot = await communicator.receive_json_from(timeout=5)
        target = ConnectTarget(session_id=str(pending.pk), tenant_id=str(tenant_a.pk), config={})
        await session_connect_async(
            target, provider="openai", call_id="rtc_1", model="m", voice="cedar"
        )
        status = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return snapshot, status

    snapshot, status = run()
    assert status["kind"] == "status" and status["session"]["status"] == "connecting"
    assert status["seq"] == snapshot["seq"] + 1


def test_the_live_now_socket_hears_status_changes_of_its_tenant_only(session, tenant_a, tenant_b):
    other = SessionFactory(tenant=tenant_b, status=SessionStatus.LIVE, started_at=timezone.now())
    user = member(tenant_a)

    @async_to_sync
    async def run():
        communicator = await opened("/ws/live/", user)
        for s in (other, session):
            await asyncio.to_thread(end, s)
        message = await communicator.receive_json_from(timeout=5)
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return message

    message = run()
    assert message["session"]["id"] == str(session.pk)
    assert message["session"]["status"] == "completed"


def test_operators_get_no_live_now_socket(tenant_a):
    operator = UserFactory(is_staff=True, is_superuser=True)

    @async_to_sync
    async def run():
        return await closed_with(await opened("/ws/live/", operator))

    assert run() == watch.CLOSE_FORBIDDEN


def test_a_copy_of_an_entry_already_stored_keeps_the_numbers_without_a_gap(session, tenant_a):
    user = member(tenant_a)
    append(session, "Said once", item_id="item_9")

    @async_to_sync
    async def run():
        communicator = await opened(path_for(session), user)
        snapshot = await communicator.receive_json_from(timeout=5)
        await asyncio.to_thread(append, session, "Said once", "candidate", "item_9")
        again = await communicator.receive_json_from(timeout=5)
        await asyncio.to_thread(append, session, "Said next")
        nxt = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return snapshot, again, nxt

    snapshot, again, nxt = run()
    assert again == {"kind": "unchanged", "seq": snapshot["seq"] + 1}
    assert nxt["kind"] == "entry" and nxt["seq"] == snapshot["seq"] + 2
    with rls.tenant_context(tenant_a.pk):
        assert TranscriptEntry.objects.filter(session=session).count() == 2


def run_from(session, user, extra=()):
    @async_to_sync
    async def run():
        communicator = await opened(path_for(session), user, extra)
        message = await communicator.receive_output(timeout=5)
        await communicator.disconnect()
        return message

    return run()


def test_without_client_ip_header_a_forged_header_does_not_open_the_socket(
    session, tenant_a, settings
):
    # The test communicator connects from 127.0.0.1, outside the list.
    settings.CLIENT_IP_HEADER = ""
    tenant_a.allowed_admin_networks = ["10.0.0.0/8", "2001:db8::/32"]
    with rls.bypass_context():
        tenant_a.save(update_fields=["allowed_admin_networks"])
    user = member(tenant_a)
    forged = [(b"x-forwarded-for", b"10.1.2.3"), (b"fly-client-ip", b"2001:db8::5")]
    assert run_from(session, user, forged)["code"] == watch.CLOSE_FORBIDDEN


@pytest.mark.parametrize(
    "ip, allowed",
    [(b"10.1.2.3", True), (b"192.0.2.7", False), (b"2001:db8::5", True), (b"2001:db9::1", False)],
)
def test_operators_watch_only_from_operator_allowed_networks(session, settings, ip, allowed):
    settings.CLIENT_IP_HEADER = "Fly-Client-IP"
    settings.OPERATOR_ALLOWED_NETWORKS = ["10.0.0.0/8", "2001:db8::/32"]
    operator = UserFactory(is_staff=True, is_superuser=True)
    message = run_from(session, operator, [(b"fly-client-ip", ip)])
    if allowed:
        assert "snapshot" in message["text"]
    else:
        assert message["code"] == watch.CLOSE_FORBIDDEN
        with rls.bypass_context():  # refused before anything of the tenant was read
            assert not AuditEvent.objects.filter(action="operator.viewed").exists()


def test_an_operator_behind_no_proxy_is_judged_by_the_connection(session, settings):
    settings.CLIENT_IP_HEADER = ""
    settings.OPERATOR_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    operator = UserFactory(is_staff=True, is_superuser=True)
    forged = [(b"fly-client-ip", b"10.1.2.3")]
    assert run_from(session, operator, forged)["code"] == watch.CLOSE_FORBIDDEN
    settings.OPERATOR_ALLOWED_NETWORKS = []  # empty: any network
    assert "snapshot" in run_from(session, operator, forged)["text"]


def test_a_member_without_required_two_factor_cannot_watch(session, tenant_a):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    with rls.bypass_context():
        type(tenant_a).objects.filter(pk=tenant_a.pk).update(require_two_factor=True)
    user = member(tenant_a)
    assert run_from(session, user)["code"] == watch.CLOSE_FORBIDDEN
    with rls.user_context(user.pk):
        TOTP.activate(user, generate_totp_secret())
    tenant_selectors.two_factor_state_forget(user)
    assert "snapshot" in run_from(session, user)["text"]


def test_a_session_signed_in_without_the_second_factor_cannot_watch(session, tenant_a):
    # Signed in with the password alone before the account set up two-factor authentication.
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = member(tenant_a)
    with rls.user_context(user.pk):
        TOTP.activate(user, generate_totp_secret())
    tenant_selectors.two_factor_state_forget(user)
    stale = cookie_for(user, second_factor=False)
    assert run_from(session, None, extra=[(b"cookie", stale)])["code"] == watch.CLOSE_NOT_SIGNED_IN
    assert "snapshot" in run_from(session, user)["text"]


def test_the_live_now_socket_needs_required_two_factor_too(tenant_a):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    with rls.bypass_context():
        type(tenant_a).objects.filter(pk=tenant_a.pk).update(require_two_factor=True)
    user = member(tenant_a)

    @async_to_sync
    async def refused():
        return await closed_with(await opened("/ws/live/", user))

    @async_to_sync
    async def admitted():
        communicator = await opened("/ws/live/", user)
        quiet = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return quiet

    assert refused() == watch.CLOSE_FORBIDDEN
    with rls.user_context(user.pk):
        TOTP.activate(user, generate_totp_secret())
    tenant_selectors.two_factor_state_forget(user)
    assert admitted()
