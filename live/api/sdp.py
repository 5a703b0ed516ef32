"""The SDP proxy: the browser's offer in, the provider's answer out. Asynchronous (adrf):
while the provider answers, no thread waits for it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time

import psycopg
from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, parsers

from core import metrics, rls
from core.dbthreads import recover_connection
from core.maintenance import InMaintenance
from interviews import services
from interviews.models import InterviewSession

from .. import provider as realtime
from .. import tasks
from ..tokens import SessionTokenAuthentication
from ..worker import ATTACH_CHANNEL
from .errors import (
    BadGateway,
    Conflict,
    DatabaseUnavailable,
    GatewayTimeout,
    InterviewerBusy,
    InterviewerNotConfigured,
    PayloadTooLarge,
    UnderMaintenance,
)
from .permissions import IsSessionOwner
from .schema import ErrorSerializer, error_responses

# The package's logger (live.api), as before the API became a package.
logger = logging.getLogger(__package__)

MAX_SDP_BYTES = 64 * 1024


class SDPParser(parsers.BaseParser):
    media_type = "application/sdp"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > MAX_SDP_BYTES:
            raise PayloadTooLarge(f"An SDP offer is at most {MAX_SDP_BYTES // 1024} KB.")
        body = stream.read(MAX_SDP_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_SDP_BYTES:
            raise PayloadTooLarge(f"An SDP offer is at most {MAX_SDP_BYTES // 1024} KB.")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError("The SDP offer must be UTF-8 text.") from exc


class EventLoopAPIView(AsyncAPIView):
    """An adrf view whose DRF checks run on the event loop. adrf hands ``initial``
    (authentication, permissions, throttles, content negotiation) to a worker thread in case
    they touch the database; a view whose checks do not (the session token is verified by its
    signature, the permission compares ids) saves that thread hand-over on every request."""

    async def async_dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            self.initial(request, *args, **kwargs)
            method = request.method.lower()
            handler = (
                getattr(self, method, self.http_method_not_allowed)
                if method in self.http_method_names
                else self.http_method_not_allowed
            )
            response = handler(request, *args, **kwargs)
            if inspect.isawaitable(response):
                response = await response
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response


@recover_connection
def _record_failure(target: services.ConnectTarget, error: realtime.ProviderError) -> None:
    with rls.tenant_context(target.tenant_id):
        session = InterviewSession.objects.get(pk=target.session_id)
        # The company's timeline: a configuration error is theirs (or the operators') to fix.
        kind = "provider.misconfigured" if error.misconfigured else "provider.call_failed"
        services.session_event_record(
            session=session,
            kind=kind,
            data={"code": error.code, "status": getattr(error, "status", None)},
        )


def _hang_up_later(target: services.ConnectTarget, call_id: str) -> None:
    try:
        tasks.hangup_call.delay(target.session_id, target.tenant_id, call_id)
    except Exception:  # the broker is away; the expiry task still ends stale sessions' calls
        logger.exception("could not queue a hang-up", extra={"call": call_id})


_bookkeeping: set[asyncio.Task] = set()  # the event loop keeps only weak references to tasks


async def _keep_or_hang_up(
    target: services.ConnectTarget, provider_name: str, call: realtime.Call, config: dict
) -> exceptions.APIException | None:
    """Record the provider's new call on the session, hang up the call it replaces, or - when
    the session ended meanwhile or the call cannot be recorded - hang up the new call. Returns
    the error to answer with, if any (it never raises: nobody may be waiting for it)."""
    hang_up = sync_to_async(_hang_up_later, thread_sensitive=False)
    try:
        replaced = await services.session_connect_async(
            target,
            notify_channel=ATTACH_CHANNEL,  # wakes the realtime workers on commit
            provider=provider_name,
            call_id=call.call_id,
            model=config["model"],
            voice=config["audio"]["output"]["voice"],
        )
    except services.IllegalTransition:
        await hang_up(target, call.call_id)
        return Conflict()
    except Exception:
        logger.exception("could not record a new call", extra={"call": call.call_id})
        await hang_up(target, call.call_id)
        return DatabaseUnavailable()
    if replaced:  # a reconnect: the old call must not go on talking either
        await hang_up(target, replaced)
    return None


def _provider_outcome(error: realtime.ProviderError) -> str:
    if isinstance(error, realtime.UpstreamTimeout):
        return "timeout"
    if error.misconfigured:
        return "misconfigured"
    if error.rate_limited:
        return "rate_limited"
    return "rejected" if isinstance(error, realtime.UpstreamRejected) else "unavailable"


class SessionSDPView(EventLoopAPIView):
    """Browser offer in, provider answer out. The session configuration is built here, on the
    server, from the template; the browser cannot choose it."""

    authentication_classes = [SessionTokenAuthentication]
    permission_classes = [IsSessionOwner]
    parser_classes = [SDPParser]

    @extend_schema(
        request={"application/sdp": OpenApiTypes.STR},
        responses={
            (201, "application/sdp"): OpenApiResponse(OpenApiTypes.STR, "The SDP answer"),
            400: OpenApiResponse(ErrorSerializer, description="Not an SDP offer"),
            **error_responses(403),
            409: OpenApiResponse(ErrorSerializer, description="The session has ended"),
            413: OpenApiResponse(ErrorSerializer, description="Offer larger than 64 KB"),
            415: OpenApiResponse(description="Not application/sdp"),
            500: OpenApiResponse(
                ErrorSerializer,
                description="interviewer_not_configured: the provider refused the platform's "
                "configuration (operators are alerted); trying again will not help",
            ),
            502: OpenApiResponse(description="The provider failed or is unreachable"),
            503: OpenApiResponse(
                description="The database is unavailable, the provider is rate limiting "
                "(upstream_rate_limited), or the platform is in maintenance and the interview "
                "has not started (maintenance); try again after Retry-After seconds"
            ),
            504: OpenApiResponse(description="The provider did not answer in time"),
        },
        summary="Connect: exchange the browser's SDP offer for the provider's answer",
    )
    async def post(self, request, session_id):
        # Every offer is counted by what came of it: the error's own code (a fixed word per
        # class, never the provider's text), "answered", or "cancelled" when the browser left.
        outcome = "error"
        try:
            response = await self._exchange(request)
            outcome = "answered"
            return response
        except exceptions.APIException as error:
            outcome = type(error).default_code
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            metrics.SDP_OFFERS.labels(outcome).inc()

    async def _exchange(self, request):
        offer = request.data
        if not isinstance(offer, str) or not offer.startswith("v=0") or "m=audio" not in offer:
            raise exceptions.ParseError("The body must be an SDP offer with an audio section.")
        claims = request.auth
        try:
            target = await services.session_connect_target(
                session_id=claims.session_id, user_id=claims.user_id, tenant_id=claims.tenant_id
            )
        except services.SessionNotFound as error:
            raise exceptions.NotFound("No such interview session.") from error
        except services.IllegalTransition as error:
            raise Conflict() from error
        except services.TenantSuspended as error:
            raise exceptions.PermissionDenied(
                "This company's interview account is suspended.", code="tenant_suspended"
            ) from error
        except InMaintenance as error:
            raise UnderMaintenance(error.maintenance) from error
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise DatabaseUnavailable() from error
        config = target.config
        provider = realtime.get_provider()
        asked = time.monotonic()
        try:
            call = await provider.create_call(offer_sdp=offer, session=config)
        except realtime.ProviderError as error:
            metrics.SDP_PROVIDER_SECONDS.labels(_provider_outcome(error)).observe(
                time.monotonic() - asked
            )
            # A configuration error needs an operator: it is an ERROR, not an outage.
            logger.log(
                logging.ERROR if error.misconfigured else logging.WARNING,
                "provider refused the platform's configuration"
                if error.misconfigured
                else "provider refused a call",
                extra={"code": error.code, "status": getattr(error, "status", None)},
            )
            try:
                await sync_to_async(_record_failure, thread_sensitive=False)(target, error)
            except Exception:  # the provider's answer still decides the response
                logger.exception("could not record a refused call")
            if isinstance(error, realtime.UpstreamTimeout):
                raise GatewayTimeout() from error
            # The provider's own code stays on the server (log and timeline): the browser
            # only needs to know whether to stop, wait as long as asked, or try again.
            if error.misconfigured:
                raise InterviewerNotConfigured() from error
            if error.rate_limited:
                raise InterviewerBusy(error.retry_after) from error
            rejected = isinstance(error, realtime.UpstreamRejected)
            raise BadGateway(code="upstream_error" if rejected else error.code) from error
        metrics.SDP_PROVIDER_SECONDS.labels("answered").observe(time.monotonic() - asked)
        # From here the call exists at the provider: it is recorded or hung up even if the
        # browser goes away meanwhile (Django then cancels this view, not the bookkeeping).
        bookkeeping = asyncio.ensure_future(_keep_or_hang_up(target, provider.name, call, config))
        _bookkeeping.add(bookkeeping)
        bookkeeping.add_done_callback(_bookkeeping.discard)
        error = await asyncio.shield(bookkeeping)
        if error is not None:
            raise error
        return HttpResponse(call.answer_sdp, status=201, content_type="application/sdp")
