"""Recruiters watching an interview as it happens: a WebSocket per session at
``/ws/sessions/<id>/live/`` (config.asgi), signed in with the console's session cookie.

Who may watch: members of the session's tenant (any role, viewers included) from a network
the tenant allows (and, where a tenant of theirs requires it, with two-factor authentication
set up), and platform operators from OPERATOR_ALLOWED_NETWORKS (each view recorded in the
tenant's audit trail).
Anyone else is accepted and closed at once with a code that says why (``CLOSE_*``), so a
page can tell a sign-in problem from a missing session.

What a viewer gets: the session as of its latest live update (``snapshot``: state, update
number ``seq``, the transcript entries changed since the number the viewer sends as
``?since=``, all of them for 0), then every numbered update after it, as it commits
(interviews.services.live_updates). The consumer joins the session's group before it reads
the snapshot and drops pushes numbered at or below it, so nothing falls between the two and
nothing comes twice. A viewer that sees a number skipped (a push lost while Redis was away)
sends ``{"type": "resync", "since": <last number it holds>}`` and gets a snapshot of what
changed since.

Database work runs on the thread pool (``thread_sensitive=False``), not the single thread
every ``database_sync_to_async`` call in a process shares, so hundreds of viewers connecting
at once do not queue behind one another; those threads live as long as the process, so a
connection the database dropped is closed and made again (core.dbthreads).
"""

from __future__ import annotations

import logging
import uuid

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from core import requestcontext, rls
from core.dbthreads import recover_connection
from interviews import selectors as interview_selectors
from interviews.models import InterviewSession
from interviews.services.live_updates import session_group, tenant_group
from tenants import selectors as tenant_selectors
from tenants import services as tenant_services
from tenants.middleware import ACTIVE_TENANT_SESSION_KEY

logger = logging.getLogger(__name__)

CLOSE_NOT_SIGNED_IN = 4401
# Not a console user, the tenant (or, for an operator, OPERATOR_ALLOWED_NETWORKS) refuses this
# network, or two-factor authentication is required and not set up.
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404  # no such session in any tenant this user may watch
CLOSE_BAD_REQUEST = 4400


class Refused(Exception):
    def __init__(self, code: int):
        self.code = code


def client_ip(scope) -> str | None:
    """The client's address as the HTTP side finds it (``CLIENT_IP_HEADER`` if set)."""
    if settings.CLIENT_IP_HEADER:
        wanted = settings.CLIENT_IP_HEADER.lower().encode()
        for name, value in scope.get("headers", []):
            if name.lower() == wanted:
                return value.decode("latin-1").split(",")[0].strip() or None
    client = scope.get("client")
    return client[0] if client else None


@recover_connection
def admit(user, session_id, *, preferred_tenant_id=None, two_factor_verified=None) -> str:
    """The tenant of session ``session_id`` if ``user`` may watch it; raises Refused.
    ``two_factor_verified``: the browser session's record of its second factor."""
    if not (user.is_active and user.is_staff):
        raise Refused(CLOSE_FORBIDDEN)
    if tenant_selectors.two_factor_session_stale(user, two_factor_verified):
        raise Refused(CLOSE_NOT_SIGNED_IN)
    if user.is_superuser:
        if not tenant_selectors.operator_console_network_allowed(requestcontext.client_ip.get()):
            raise Refused(CLOSE_FORBIDDEN)
        with tenant_services.system_bypass(reason="operator live view"):
            tenant_id = (
                InterviewSession.objects.filter(pk=session_id)
                .values_list("tenant_id", flat=True)
                .first()
            )
        if tenant_id is None:
            raise Refused(CLOSE_NOT_FOUND)
        with rls.tenant_context(tenant_id):
            session = InterviewSession.objects.get(pk=session_id)
        tenant_services.operator_viewed_object(
            actor=user, target=session, tenant_id=tenant_id, page="live"
        )
        return str(tenant_id)
    with rls.user_context(user.pk):
        memberships = tenant_selectors.memberships_for_user(user)
    if tenant_selectors.two_factor_missing(user, memberships):
        raise Refused(CLOSE_FORBIDDEN)
    # The tenant the console is switched to first, then the user's other tenants.
    memberships.sort(key=lambda m: str(m.tenant_id) != str(preferred_tenant_id))
    for membership in memberships:
        with rls.tenant_context(membership.tenant_id):
            found = InterviewSession.objects.filter(
                pk=session_id, tenant_id=membership.tenant_id
            ).exists()
        if found:
            ip = requestcontext.client_ip.get()
            if not tenant_selectors.network_allowed(membership.tenant, ip):
                raise Refused(CLOSE_FORBIDDEN)
            return str(membership.tenant_id)
    raise Refused(CLOSE_NOT_FOUND)


@recover_connection
def snapshot(tenant_id: str, session_id, since: int) -> dict | None:
    with rls.tenant_context(tenant_id):
        return interview_selectors.session_live_snapshot(session_id, since=since)


def _since(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _query_since(scope) -> int:
    for part in scope.get("query_string", b"").decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if name == "since":
            return _since(value)
    return 0


class SessionWatchConsumer(AsyncJsonWebsocketConsumer):
    tenant_id: str | None = None
    floor = 0  # the update number of the latest snapshot sent: pushes up to it are in it

    async def connect(self):
        await self.accept()
        try:
            session_id = uuid.UUID(str(self.scope["url_route"]["kwargs"]["session_id"]))
        except ValueError:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        self.session_id = session_id
        session = self.scope.get("session")
        preferred = session.get(ACTIVE_TENANT_SESSION_KEY) if session is not None else None
        verified = (
            session.get(tenant_selectors.TWO_FACTOR_SESSION_KEY) if session is not None else None
        )
        token = requestcontext.client_ip.set(client_ip(self.scope))
        try:
            self.tenant_id = await sync_to_async(admit, thread_sensitive=False)(
                user, session_id, preferred_tenant_id=preferred, two_factor_verified=verified
            )
        except Refused as refused:
            await self.close(code=refused.code)
            return
        finally:
            requestcontext.client_ip.reset(token)
        # Joined before the snapshot is read: every update committed after it is heard.
        await self.channel_layer.group_add(session_group(session_id), self.channel_name)
        await self._send_snapshot(_query_since(self.scope))

    async def disconnect(self, code):
        if self.tenant_id is not None:
            await self.channel_layer.group_discard(
                session_group(self.session_id), self.channel_name
            )

    async def receive_json(self, content, **kwargs):
        if self.tenant_id is None:
            return
        if isinstance(content, dict) and content.get("type") == "resync":
            await self._send_snapshot(_since(content.get("since")))
        else:
            await self.close(code=CLOSE_BAD_REQUEST)

    async def _send_snapshot(self, since: int) -> None:
        found = await sync_to_async(snapshot, thread_sensitive=False)(
            self.tenant_id, self.session_id, since
        )
        if found is None:  # deleted meanwhile (retention, erasure)
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.floor = max(self.floor, found["seq"])
        await self.send_json(found)

    async def live_update(self, message):
        seq = message.get("seq")
        if seq is not None and seq <= self.floor:
            return  # in a snapshot already sent
        await self.send_json({k: v for k, v in message.items() if k != "type"})


class TenantLiveConsumer(AsyncJsonWebsocketConsumer):
    """The console's "Live now" list: a status message whenever one of the tenant's sessions
    changes status (the page then reloads its rows). For members, in the tenant the console
    is switched to; operators, who see every tenant, get CLOSE_FORBIDDEN and the page polls."""

    group: str | None = None

    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        session = self.scope.get("session")
        preferred = session.get(ACTIVE_TENANT_SESSION_KEY) if session is not None else None
        verified = (
            session.get(tenant_selectors.TWO_FACTOR_SESSION_KEY) if session is not None else None
        )
        token = requestcontext.client_ip.set(client_ip(self.scope))
        try:
            tenant_id = await sync_to_async(member_tenant, thread_sensitive=False)(
                user, preferred, verified
            )
        finally:
            requestcontext.client_ip.reset(token)
        if tenant_id is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = tenant_group(tenant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def disconnect(self, code):
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.close(code=CLOSE_BAD_REQUEST)  # nothing to ask: the page reloads its rows

    async def live_update(self, message):
        await self.send_json({k: v for k, v in message.items() if k != "type"})


@recover_connection
def member_tenant(user, preferred_tenant_id, two_factor_verified=None) -> str | None:
    """The tenant whose console ``user`` works in (as the console picks it), if the tenant
    allows the client's network and the browser session passed the second factor where it
    must; None for operators and non-members."""
    if not (user.is_active and user.is_staff) or user.is_superuser:
        return None
    if tenant_selectors.two_factor_session_stale(user, two_factor_verified):
        return None
    with rls.user_context(user.pk):
        memberships = tenant_selectors.memberships_for_user(user)
    membership = tenant_selectors.membership_pick(memberships, preferred_tenant_id)
    if tenant_selectors.two_factor_missing(user, memberships):
        return None
    if membership is None or not tenant_selectors.network_allowed(
        membership.tenant, requestcontext.client_ip.get()
    ):
        return None
    return str(membership.tenant_id)
