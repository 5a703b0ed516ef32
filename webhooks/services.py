"""Writes for outgoing webhooks: endpoints (registered in the console or the API), the events
the apps emit, and each delivery's attempts. See docs/webhooks.md.

``webhook_emit`` runs inside the transaction of the change it reports: the deliveries are
written with it, and sent by a worker only once it commits (so a change rolled back is never
announced). Each attempt claims its delivery first (``_claim``), so a duplicate message, a
retry and the periodic job never send the same attempt twice; a worker that dies mid-attempt
leaves the claim to run out, and the periodic job tries again: at least once.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, Value
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import metrics, rls
from tenants.models import Tenant
from tenants.services import audit_record

from . import selectors, sender
from .destinations import UnsafeDestination, destination_check, url_refusal
from .models import (
    TEST_EVENT,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from .signing import secret_generate, signed_headers

logger = logging.getLogger(__name__)

#: Fields an owner or admin may change on an endpoint (the console's form, the API).
ENDPOINT_EDITABLE_FIELDS = ("url", "description", "events", "include_transcript")
#: Retries sooner than this are queued with a countdown; later ones are left to the periodic
#: job (a broker holds a message with a long countdown badly, and may lose it).
COUNTDOWN_LIMIT_SECONDS = 600

_random = secrets.SystemRandom()


# --- Links ------------------------------------------------------------------------------------


def console_url(obj) -> str:
    """The console page of ``obj`` (any model the console shows), as an absolute URL."""
    opts = obj._meta
    return settings.SITE_URL + reverse(
        f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]
    )


# --- Endpoints -------------------------------------------------------------------------------


def _clean_endpoint(endpoint: WebhookEndpoint) -> None:
    """Refuse unknown events, and URLs the platform will not call (checked again, after
    resolving, before every attempt)."""
    events = endpoint.events
    if not isinstance(events, list) or not events:
        raise ValidationError({"events": "Choose at least one event."})
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise ValidationError({"events": f"Unknown events: {', '.join(unknown)}."})
    endpoint.events = [event for event in WebhookEvent.values if event in events]
    endpoint.url = (endpoint.url or "").strip()
    refusal = url_refusal(endpoint.url)
    if refusal:
        raise ValidationError({"url": refusal})
    try:
        destination_check(endpoint.url)
    except UnsafeDestination as exc:
        raise ValidationError({"url": exc.messages}) from exc
    endpoint.full_clean(exclude=["tenant", "events", "secret"])


@transaction.atomic
def endpoint_create(
    *,
    tenant_id,
    url: str,
    events: list[str],
    include_transcript: bool = False,
    description: str = "",
    actor,
) -> WebhookEndpoint:
    """Register an endpoint, with a new secret. The caller shows ``endpoint.secret`` to the
    person who created it, once; nothing shows it again."""
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        url=url,
        events=list(events),
        include_transcript=include_transcript,
        description=description.strip(),
        secret=secret_generate(),
    )
    _clean_endpoint(endpoint)
    endpoint.save(force_insert=True)
    audit_record(
        action="webhook.endpoint_created",
        tenant_id=tenant_id,
        actor=actor,
        target=endpoint,
        details={"events": endpoint.events, "include_transcript": include_transcript},
    )
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, actor, changes: dict) -> WebhookEndpoint:
    """Change an endpoint's URL, description, events or transcript opt-in. The audit trail
    records which fields changed."""
    unknown = set(changes) - set(ENDPOINT_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    stored = WebhookEndpoint.objects.select_for_update().values(*ENDPOINT_EDITABLE_FIELDS)
    stored = stored.get(pk=endpoint.pk)
    for field, value in changes.items():
        setattr(endpoint, field, value)
    _clean_endpoint(endpoint)
    changed = [f for f in ENDPOINT_EDITABLE_FIELDS if getattr(endpoint, f) != stored[f]]
    if not changed:
        return endpoint
    endpoint.save(update_fields=[*changed, "updated_at"])
    audit_record(
        action="webhook.endpoint_changed",
        tenant_id=endpoint.tenant_id,
        actor=actor,
        target=endpoint,
        details={"fields": changed},
    )
    return endpoint


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, actor=None) -> bool:
    """Stop sending to an endpoint: by a person (``actor``), or by the platform after
    sustained failure (no actor: the tenant's owners are emailed). Deliveries still waiting
    give up. Returns whether it was enabled."""
    if not WebhookEndpoint.objects.filter(pk=endpoint.pk, is_enabled=True).update(
        is_enabled=False, disabled_at=timezone.now(), disabled_reason=reason[:200]
    ):
        return False
    endpoint.refresh_from_db(fields=["is_enabled", "disabled_at", "disabled_reason"])
    endpoint.deliveries.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]).update(
        status=DeliveryStatus.DEAD,
        next_attempt_at=None,
        last_error="The endpoint was disabled.",
        updated_at=timezone.now(),
    )
    audit_record(
        action="webhook.endpoint_disabled",
        tenant_id=endpoint.tenant_id,
        actor=actor,
        actor_label="system",
        target=endpoint,
        details={"reason": reason[:200]},
    )
    if actor is None:
        from . import tasks  # the tasks wrap these services

        tasks.notify_endpoint_disabled.delay_on_commit(str(endpoint.pk), str(endpoint.tenant_id))
    return True


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint, actor) -> bool:
    """Send to a disabled endpoint again, its failure counts cleared (deliveries that gave up
    meanwhile can be sent again from the log). Returns whether it was disabled."""
    if not WebhookEndpoint.objects.filter(pk=endpoint.pk, is_enabled=False).update(
        is_enabled=True,
        disabled_at=None,
        disabled_reason="",
        consecutive_dead=0,
        failing_since=None,
        updated_at=timezone.now(),
    ):
        return False
    endpoint.refresh_from_db()
    audit_record(
        action="webhook.endpoint_enabled",
        tenant_id=endpoint.tenant_id,
        actor=actor,
        target=endpoint,
    )
    return True


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    """Remove an endpoint and its delivery log."""
    audit_record(
        action="webhook.endpoint_deleted",
        tenant_id=endpoint.tenant_id,
        actor=actor,
        target=endpoint,
    )
    endpoint.delete()


@transaction.atomic
def endpoint_send_test(*, endpoint: WebhookEndpoint, actor) -> WebhookDelivery:
    """Send the endpoint a ``webhook.test`` event, whatever it subscribed to."""
    if not endpoint.is_enabled:
        raise ValidationError("This endpoint is disabled; enable it before sending to it.")
    data = {"endpoint_id": str(endpoint.pk), "tenant": _tenant_slug(endpoint.tenant_id)}
    delivery = _delivery_create(endpoint, TEST_EVENT, _payload(TEST_EVENT, data))
    audit_record(
        action="webhook.test_sent",
        tenant_id=endpoint.tenant_id,
        actor=actor,
        target=endpoint,
        details={"message_id": delivery.message_id},
    )
    return delivery


# --- Emitting ---------------------------------------------------------------------------------


def _tenant_slug(tenant_id) -> str:
    return Tenant.objects.filter(pk=tenant_id).values_list("slug", flat=True).get()


def _payload(event_type: str, data: dict, at=None) -> dict:
    moment = at or timezone.now()
    return {"type": event_type, "timestamp": moment.isoformat(), "data": data}


def _delivery_create(endpoint: WebhookEndpoint, event_type: str, payload: dict):
    delivery = WebhookDelivery.objects.create(
        tenant_id=endpoint.tenant_id,
        endpoint=endpoint,
        event_type=event_type,
        message_id="msg_" + secrets.token_hex(16),
        payload=payload,
        next_attempt_at=timezone.now(),
    )
    _send_on_commit(delivery)
    return delivery


def _send_on_commit(delivery: WebhookDelivery, countdown: float | None = None) -> None:
    from . import tasks  # the tasks wrap these services

    args = (str(delivery.pk), str(delivery.tenant_id))
    transaction.on_commit(lambda: tasks.send_delivery.apply_async(args, countdown=countdown))


def webhook_emit(
    *,
    tenant_id,
    event_type: str,
    data: dict,
    transcript: Callable[[], dict] | None = None,
) -> list[WebhookDelivery]:
    """Announce ``event_type`` to the tenant's endpoints that subscribed to it: one delivery
    each, written in the caller's transaction and sent once it commits. ``data`` carries ids
    and links; ``transcript`` gives the fields only endpoints that opted in receive (the
    transcript's text), asked for only if one did. Call it in the tenant's context."""
    if event_type not in WebhookEvent.values:
        raise ValueError(f"Unknown webhook event {event_type!r}")
    endpoints = selectors.endpoints_subscribed(tenant_id=tenant_id, event_type=event_type)
    if not endpoints:
        return []
    data = {"tenant": _tenant_slug(tenant_id), **data}
    at = timezone.now()  # one event: the same timestamp for every endpoint
    extra = None
    deliveries = []
    with transaction.atomic():
        for endpoint in endpoints:
            endpoint_data = data
            if endpoint.include_transcript and transcript is not None:
                extra = transcript() if extra is None else extra
                endpoint_data = {**data, **extra}
            deliveries.append(
                _delivery_create(endpoint, event_type, _payload(event_type, endpoint_data, at))
            )
    return deliveries


# --- Delivering -------------------------------------------------------------------------------


def retry_delay(attempts: int) -> float | None:
    """Seconds before the next attempt of a delivery that failed ``attempts`` times (with up to
    10% jitter either way, so that an endpoint coming back is not hit by every retry at once),
    or None when it has had its last."""
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1]
    return delay * _random.uniform(0.9, 1.1)


def _claim_ttl() -> timedelta:
    """How long one attempt may take: longer than its request can, so an older claim belongs
    to a worker that died."""
    return timedelta(
        seconds=settings.WEBHOOKS_TIMEOUT_SECONDS + settings.WEBHOOKS_CONNECT_TIMEOUT_SECONDS + 60
    )


def _claim(delivery_id, now) -> WebhookDelivery | None:
    """The delivery, claimed for one attempt (counted now: an attempt that never reports back
    still counts), or None when it is not due or not ours to send."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if (
            delivery is None
            or delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
            or not delivery.endpoint.is_enabled
            # A second of slack for a countdown that fires a little early.
            or delivery.next_attempt_at is None
            or delivery.next_attempt_at > now + timedelta(seconds=1)
        ):
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + _claim_ttl()
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
        return delivery


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The request body: the payload as compact JSON (the exact bytes that are signed)."""
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


def delivery_attempt(*, delivery_id, tenant_id, now=None) -> str:
    """Make one attempt at a delivery that is due (the worker's job): ``succeeded``,
    ``failed`` (another attempt is scheduled), ``dead`` (that was its last) or ``skipped``
    (not due, already done, or its endpoint disabled)."""
    now = now or timezone.now()
    with rls.tenant_context(tenant_id):
        delivery = _claim(delivery_id, now)
        if delivery is None:
            return "skipped"
        endpoint = delivery.endpoint
        body = delivery_body(delivery)
        try:
            destination = destination_check(endpoint.url)
        except UnsafeDestination as exc:
            response = sender.Response(None, exc.messages[0][:300])
        else:
            headers = signed_headers(
                secret=endpoint.secret,
                message_id=delivery.message_id,
                timestamp=int(timezone.now().timestamp()),
                body=body,
            )
            response = sender.post(destination, body=body, headers=headers)
        outcome = _record(delivery, response)
        if outcome != "skipped":
            metrics.WEBHOOK_DELIVERIES.labels(
                metrics.status_class(response.status_code), outcome
            ).inc()
        return outcome


@transaction.atomic
def _record(delivery: WebhookDelivery, response: sender.Response) -> str:
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=delivery.endpoint_id).first()
    if endpoint is None:
        return "skipped"  # deleted meanwhile, with its log
    delivery.last_response_code = response.status_code
    delivery.last_error = response.error[:300]
    if response.succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.next_attempt_at = None
        outcome = "succeeded"
        if endpoint.consecutive_dead or endpoint.failing_since:
            endpoint.consecutive_dead = 0
            endpoint.failing_since = None
            endpoint.save(update_fields=["consecutive_dead", "failing_since"])
    else:
        delay = retry_delay(delivery.attempts)
        if delay is None:
            delivery.status = DeliveryStatus.DEAD
            delivery.next_attempt_at = None
            outcome = "dead"
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            outcome = "failed"
            if delay <= COUNTDOWN_LIMIT_SECONDS:
                _send_on_commit(delivery, countdown=delay)
        _endpoint_failed(endpoint, now, dead=outcome == "dead")
        logger.info(
            "webhook attempt failed",
            extra={
                "delivery": str(delivery.pk),
                "attempt": delivery.attempts,
                "status_code": response.status_code,
                "outcome": outcome,
            },
        )
    # Only while the claim is ours: "send again" or a disabled endpoint may have moved it.
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
    ).update(
        status=delivery.status,
        next_attempt_at=delivery.next_attempt_at,
        last_response_code=delivery.last_response_code,
        last_error=delivery.last_error,
        updated_at=now,
    )
    return outcome


def _endpoint_failed(endpoint: WebhookEndpoint, now, *, dead: bool) -> None:
    """Count a failure against the endpoint; disable it after sustained failure."""
    fields = []
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        fields.append("failing_since")
    if dead:
        endpoint.consecutive_dead = F("consecutive_dead") + 1
        fields.append("consecutive_dead")
    if fields:
        endpoint.save(update_fields=fields)
        endpoint.refresh_from_db(fields=["consecutive_dead"])
    if endpoint.consecutive_dead >= settings.WEBHOOKS_DISABLE_AFTER_DEAD:
        reason = f"{endpoint.consecutive_dead} deliveries in a row failed every attempt."
    elif now - endpoint.failing_since > timedelta(days=settings.WEBHOOKS_DISABLE_AFTER_DAYS):
        reason = f"Failing without a success for over {settings.WEBHOOKS_DISABLE_AFTER_DAYS} days."
    else:
        return
    endpoint_disable(endpoint=endpoint, reason=reason)


@transaction.atomic
def delivery_send_again(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a delivery again now, with the same message id (a receiver that already has it
    can tell). One that already gave up gets one more attempt."""
    locked = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .get(pk=delivery.pk)
    )
    if not locked.endpoint.is_enabled:
        raise ValidationError("This endpoint is disabled; enable it before sending to it.")
    # One being attempted right now may be sent twice: receivers deduplicate by message id.
    locked.status = DeliveryStatus.PENDING
    locked.next_attempt_at = timezone.now()
    locked.save(update_fields=["status", "next_attempt_at", "updated_at"])
    _send_on_commit(locked)
    audit_record(
        action="webhook.sent_again",
        tenant_id=locked.tenant_id,
        actor=actor,
        target=locked,
    )
    return locked


# --- Notifying and pruning --------------------------------------------------------------------


def endpoint_disabled_notify(*, endpoint_id, tenant_id) -> int:
    """Email the tenant's owners that the platform disabled one of their endpoints. Returns
    how many were emailed."""
    with rls.tenant_context(tenant_id):
        endpoint = WebhookEndpoint.objects.select_related("tenant").filter(pk=endpoint_id).first()
        if endpoint is None or endpoint.is_enabled:
            return 0
        recipients = selectors.owner_emails(tenant_id)
    if not recipients:
        return 0
    context = {
        "endpoint": endpoint,
        "tenant": endpoint.tenant,
        "console_url": console_url(endpoint),
    }
    EmailMultiAlternatives(
        subject=render_to_string("webhooks/email/disabled_subject.txt", context).strip(),
        body=render_to_string("webhooks/email/disabled.txt", context),
        to=recipients,
        headers={"Auto-Submitted": "auto-generated"},
    ).send()
    return len(recipients)


def deliveries_prune(*, now=None) -> int:
    """Delete finished deliveries (succeeded or dead) older than WEBHOOKS_DELIVERY_LOG_DAYS,
    or than their tenant's ``retention_days`` if that is shorter, across tenants (the caller
    holds the system bypass). Their payloads may carry transcript text, which must not
    outlive the interviews it came from; the log is not an archive. Returns how many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOKS_DELIVERY_LOG_DAYS)
    tenant_cutoff = ExpressionWrapper(
        Value(now) - F("tenant__retention_days") * Value(timedelta(days=1)),
        output_field=DateTimeField(),
    )
    deleted, _ = (
        WebhookDelivery.objects.filter(Q(created_at__lt=cutoff) | Q(created_at__lt=tenant_cutoff))
        .filter(status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.DEAD])
        .delete()
    )
    return deleted


def deliveries_about_candidate_delete(*, tenant_id, candidate_id) -> int:
    """Delete the deliveries whose payload is about a candidate being erased (they may carry
    their interview's transcript). Call in the tenant's context."""
    deleted, _ = WebhookDelivery.objects.filter(
        tenant_id=tenant_id, payload__data__candidate_id=str(candidate_id)
    ).delete()
    return deleted
