"""Delivering: signed POSTs after commit, at least once, retried on a schedule, given up,
and the endpoint disabled (its owners emailed) after sustained failure."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from core import rls
from interviews.models import Decision
from interviews.services import session_record_decision
from tenants.models import AuditEvent, Role
from tests.factories import (
    MembershipFactory,
    SessionFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from webhooks import services, tasks
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def attempt(delivery, now=None):
    return services.delivery_attempt(delivery_id=delivery.pk, tenant_id=delivery.tenant_id, now=now)


def fresh(obj):
    with rls.bypass_context():
        return type(obj).objects.get(pk=obj.pk)


@pytest.mark.django_db(transaction=True)
def test_a_decision_reaches_the_receiver_signed_once_the_transaction_commits(webhook_receiver):
    session = SessionFactory(status="completed")
    endpoint = WebhookEndpointFactory(tenant=session.tenant, url=webhook_receiver.url)
    recruiter = UserFactory()
    with rls.tenant_context(session.tenant_id):
        session_record_decision(session=session, decision=Decision.ADVANCE, actor=recruiter)

    [received] = webhook_receiver.requests
    payload = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert payload["type"] == "decision.recorded"
    assert payload["data"]["session_id"] == str(session.pk)
    assert payload["data"]["decision"] == "advance"
    assert payload["data"]["tenant"] == session.tenant.slug
    assert payload["data"]["console_url"].endswith(
        f"/admin/interviews/interviewsession/{session.pk}/change/"
    )
    with rls.bypass_context():
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert received.headers["webhook-id"] == delivery.message_id
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert (delivery.attempts, delivery.last_response_code) == (1, 204)


def test_nothing_is_sent_for_a_change_that_rolls_back(
    webhook_receiver, django_capture_on_commit_callbacks
):
    session = SessionFactory(status="completed")
    WebhookEndpointFactory(tenant=session.tenant, url=webhook_receiver.url)
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), rls.tenant_context(session.tenant_id):
            with transaction.atomic():
                session_record_decision(session=session, decision=Decision.REJECT, actor=None)
                raise RuntimeError("the caller failed after")
    assert callbacks == []
    with rls.bypass_context():
        assert not WebhookDelivery.objects.exists()


def test_a_failing_receiver_is_retried_on_the_schedule(webhook_receiver, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [5, 300, 1800]
    webhook_receiver.status = 500
    delivery = WebhookDeliveryFactory(endpoint__url=webhook_receiver.url)
    now = timezone.now()

    assert attempt(delivery, now) == "failed"
    stored = fresh(delivery)
    assert stored.status == DeliveryStatus.FAILED
    assert (stored.attempts, stored.last_response_code) == (1, 500)
    assert timedelta(seconds=4.5) <= stored.next_attempt_at - now <= timedelta(seconds=5.5)

    # Not due yet: a duplicate message or an early run does nothing.
    assert attempt(delivery, now) == "skipped"
    later = stored.next_attempt_at
    assert attempt(delivery, later) == "failed"
    stored = fresh(delivery)
    # Scheduled from when the attempt ran (now, up to 5.5 s before `later`): 300 s +-10%.
    assert timedelta(seconds=264) <= stored.next_attempt_at - later <= timedelta(seconds=330)

    for _ in range(2):
        later = fresh(delivery).next_attempt_at
        outcome = attempt(delivery, later)
    assert outcome == "dead"
    stored = fresh(delivery)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("dead", 4, None)
    assert len(webhook_receiver.requests) == 4
    # Every attempt carries the same message id.
    assert {r.headers["webhook-id"] for r in webhook_receiver.requests} == {delivery.message_id}


def test_the_default_schedule_keeps_trying_for_more_than_a_day(settings):
    delays = [services.retry_delay(n) for n in range(1, len(settings.WEBHOOKS_RETRY_SCHEDULE) + 1)]
    assert sum(delays) > 24 * 3600
    assert services.retry_delay(len(settings.WEBHOOKS_RETRY_SCHEDULE) + 1) is None
    assert len({services.retry_delay(3) for _ in range(5)}) > 1


def test_an_unreachable_receiver_is_a_failure_without_a_code(settings):
    delivery = WebhookDeliveryFactory(endpoint__url="http://127.0.0.1:9/closed")
    assert attempt(delivery) == "failed"
    stored = fresh(delivery)
    assert stored.last_response_code is None
    assert "connect" in stored.last_error.lower()


def test_the_periodic_job_sends_what_is_due_and_a_claim_that_ran_out(webhook_receiver, settings):
    due = WebhookDeliveryFactory(endpoint__url=webhook_receiver.url)
    WebhookDeliveryFactory(
        endpoint=due.endpoint, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    WebhookDeliveryFactory(endpoint=due.endpoint, status="succeeded", next_attempt_at=None)
    assert tasks.send_due_deliveries() == 1
    assert len(webhook_receiver.requests) == 1
    assert fresh(due).status == DeliveryStatus.SUCCEEDED


def test_a_redirect_is_not_followed(webhook_receiver):
    webhook_receiver.status = 302
    delivery = WebhookDeliveryFactory(endpoint__url=webhook_receiver.url)
    assert attempt(delivery) == "failed"
    assert fresh(delivery).last_error == "Redirects are not followed."


def test_a_private_address_is_refused_at_delivery_in_production(webhook_receiver, settings):
    delivery = WebhookDeliveryFactory(endpoint__url=webhook_receiver.url)
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    assert attempt(delivery) == "failed"
    assert webhook_receiver.requests == []
    assert "public addresses" in fresh(delivery).last_error


def test_sustained_failure_disables_the_endpoint_and_emails_the_owners(
    settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [5]
    settings.WEBHOOKS_DISABLE_AFTER_DEAD = 2
    endpoint = WebhookEndpointFactory(url="http://127.0.0.1:9/closed")
    owner = MembershipFactory(tenant=endpoint.tenant, role=Role.OWNER).user
    MembershipFactory(tenant=endpoint.tenant, role=Role.RECRUITER)
    first, second = WebhookDeliveryFactory.create_batch(2, endpoint=endpoint)
    waiting = WebhookDeliveryFactory(
        endpoint=endpoint, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        for delivery in (first, second):
            attempt(delivery, now)
            attempt(delivery, fresh(delivery).next_attempt_at)
    stored = fresh(endpoint)
    assert not stored.is_enabled
    assert "2 deliveries in a row" in stored.disabled_reason
    assert fresh(waiting).status == DeliveryStatus.DEAD
    [email] = mail.outbox
    assert email.to == [owner.email]
    assert endpoint.url in email.body
    with rls.bypass_context():
        assert AuditEvent.objects.filter(
            action="webhook.endpoint_disabled", target_id=str(endpoint.pk)
        ).exists()
    # A disabled endpoint is not sent to.
    assert attempt(waiting) == "skipped"


def test_failing_for_days_without_a_success_disables_the_endpoint(settings):
    settings.WEBHOOKS_DISABLE_AFTER_DAYS = 5
    endpoint = WebhookEndpointFactory(
        url="http://127.0.0.1:9/closed", failing_since=timezone.now() - timedelta(days=6)
    )
    attempt(WebhookDeliveryFactory(endpoint=endpoint))
    assert not fresh(endpoint).is_enabled


def test_a_success_clears_the_failure_counts(webhook_receiver):
    endpoint = WebhookEndpointFactory(
        url=webhook_receiver.url, consecutive_dead=3, failing_since=timezone.now()
    )
    attempt(WebhookDeliveryFactory(endpoint=endpoint))
    stored = fresh(endpoint)
    assert (stored.consecutive_dead, stored.failing_since) == (0, None)


def test_send_again_makes_one_more_attempt_with_the_same_message_id(
    webhook_receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [5]
    delivery = WebhookDeliveryFactory(
        endpoint__url=webhook_receiver.url, status="dead", attempts=2, next_attempt_at=None
    )
    actor = UserFactory()
    with rls.tenant_context(delivery.tenant_id), django_capture_on_commit_callbacks(execute=True):
        services.delivery_send_again(delivery=delivery, actor=actor)
    stored = fresh(delivery)
    assert (stored.status, stored.attempts) == ("succeeded", 3)
    assert webhook_receiver.requests[0].headers["webhook-id"] == delivery.message_id


def test_send_again_is_refused_for_a_disabled_endpoint():
    delivery = WebhookDeliveryFactory(endpoint__is_enabled=False, status="dead")
    with rls.tenant_context(delivery.tenant_id), pytest.raises(Exception, match="disabled"):
        services.delivery_send_again(delivery=delivery, actor=None)


def test_old_finished_deliveries_are_pruned(settings):
    settings.WEBHOOKS_DELIVERY_LOG_DAYS = 30
    old = WebhookDeliveryFactory(status="succeeded")
    waiting = WebhookDeliveryFactory(status="failed")
    with rls.bypass_context():
        WebhookDelivery.objects.filter(pk__in=[old.pk, waiting.pk]).update(
            created_at=timezone.now() - timedelta(days=31)
        )
    assert tasks.prune_deliveries() == 1
    with rls.bypass_context():
        assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [waiting.pk]
    with rls.bypass_context():
        assert WebhookEndpoint.objects.filter(pk=old.endpoint_id).exists()


def test_deliveries_go_with_the_tenants_retention_when_it_is_shorter(settings):
    settings.WEBHOOKS_DELIVERY_LOG_DAYS = 30
    delivery = WebhookDeliveryFactory(status="succeeded")
    kept = WebhookDeliveryFactory(status="dead")
    with rls.bypass_context():
        delivery.tenant.__class__.objects.filter(pk=delivery.tenant_id).update(retention_days=7)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            created_at=timezone.now() - timedelta(days=8)
        )
        WebhookDelivery.objects.filter(pk=kept.pk).update(
            created_at=timezone.now() - timedelta(days=8)
        )
    assert tasks.prune_deliveries() == 1
    with rls.bypass_context():
        assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [kept.pk]


def test_an_attempt_connects_to_the_address_that_was_checked(
    webhook_receiver, settings, monkeypatch
):
    # hooks.example.com "resolves" to the receiver's address, taken as public for the test:
    # the request must go there, by address, with the registered name as its Host.
    from webhooks import destinations

    port = webhook_receiver.url.split(":")[2].split("/")[0]
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    looked_up = []

    def resolve(host, port):
        looked_up.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(destinations, "_resolve", resolve)
    monkeypatch.setattr(destinations, "address_refusal", lambda address: None)
    monkeypatch.setattr(destinations, "public_scheme_refusal", lambda scheme: None)  # http here
    delivery = WebhookDeliveryFactory(endpoint__url=f"http://hooks.example.com:{port}/hooks")
    assert attempt(delivery) == "succeeded"
    assert looked_up == ["hooks.example.com"]
    [received] = webhook_receiver.requests
    assert received.headers["host"] == f"hooks.example.com:{port}"
