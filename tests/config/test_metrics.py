"""The operators' metrics, scraped as Prometheus would - over HTTP from the exporter's own
port with its bearer token - after the things they count have happened: a request, an SDP
offer (against the fake provider), a Celery task with retries (the summary, against the fake
Responses API), webhook deliveries (to a local receiver), and sessions in progress."""

import time
from datetime import timedelta

import httpx
import pytest
from celery.contrib.testing.worker import start_worker
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app
from config.metrics import SessionsInProgressCollector
from core import exporter, rls
from interviews import services
from interviews.models import InterviewSession
from live.tokens import session_token_issue
from tests.factories import (
    SessionFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from tests.support.realtime import FakeUpstream
from tests.support.responses import error, ok
from tests.support.summaries import end, good_answer, interview, summary_of
from tests.support.webhooks import webhook_receiver  # noqa: F401 (a fixture)
from webhooks import services as webhook_services
from webhooks.tasks import send_delivery

TOKEN = "metrics-" + "x" * 40
OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
)


@pytest.fixture
def metrics_url():
    """The web process's exporter, as METRICS_PORT starts it, on a free port."""
    server = exporter.serve(
        port=0,
        addr="127.0.0.1",
        token=TOKEN,
        registry=exporter.metrics_registry(extra=[SessionsInProgressCollector()]),
    )
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()
    server.server_close()


def scrape(url: str) -> dict:
    """Every sample, as {(name, sorted labels): value}."""
    response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- Who may read them -------------------------------------------------------------------


def test_the_exporter_refuses_a_scrape_without_the_token(metrics_url):
    assert httpx.get(metrics_url).status_code == 401
    wrong = httpx.get(metrics_url, headers={"Authorization": "Bearer " + "y" * 48})
    assert wrong.status_code == 401 and "http_requests" not in wrong.text
    other = httpx.get(metrics_url.replace("/metrics", "/"), headers={"Authorization": "x"})
    assert other.status_code == 401


def test_the_exporter_serves_only_its_path(metrics_url):
    response = httpx.get(
        metrics_url.replace("/metrics", "/admin/"), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_the_public_web_port_serves_no_metrics(operator_client):
    # Not even to an operator signed in to the console: metrics are on their own port.
    assert Client().get("/metrics").status_code == 404
    assert operator_client.get("/metrics").status_code == 404


# --- What they count ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_is_counted_and_timed_by_its_route_never_its_path(metrics_url):
    before = scrape(metrics_url)
    assert Client().get("/healthz").status_code == 200
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    Client().get(f"/i/{token}")
    after = scrape(metrics_url)

    labels = {"method": "GET", "route": "/healthz", "status_class": "2xx"}
    assert (
        value(after, "http_requests_total", **labels)
        - value(before, "http_requests_total", **labels)
        == 1
    )
    assert (
        value(after, "http_request_duration_seconds_count", **labels)
        - value(before, "http_request_duration_seconds_count", **labels)
        == 1
    )
    routes = {dict(key[1]).get("route") for key in after if key[0] == "http_requests_total"}
    assert "/i/<str:token>" in routes
    assert not any(token in (route or "") for route in routes)


@pytest.fixture
def provider(settings):
    fake = FakeUpstream()
    settings.OPENAI_BASE_URL = fake.base_url
    settings.OPENAI_API_KEY = "sk-proj-" + "A1b2C3d4" * 6
    settings.REALTIME_TIMEOUT_SECONDS = 1.0
    yield fake
    fake.close()


def post_offer(session):
    token = session_token_issue(
        session_id=session.pk, user_id=session.candidate.user_id, tenant_id=session.tenant_id
    )
    return Client().post(
        f"/api/candidate/sessions/{session.pk}/sdp/",
        data=OFFER,
        content_type="application/sdp",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.django_db(transaction=True)
def test_sdp_offers_are_counted_by_outcome_with_the_providers_latency(
    metrics_url, provider, tenant_a
):
    session = SessionFactory(tenant=tenant_a, candidate__user=UserFactory())
    before = scrape(metrics_url)
    assert post_offer(session).status_code == 201
    provider.mode = 429  # the provider rate limits the next one
    assert post_offer(session).status_code == 503
    after = scrape(metrics_url)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("sdp_offers_total", outcome="answered") == 1
    assert moved("sdp_offers_total", outcome="upstream_rate_limited") == 1
    assert moved("sdp_provider_call_duration_seconds_count", outcome="answered") == 1
    assert moved("sdp_provider_call_duration_seconds_count", outcome="rate_limited") == 1
    assert moved("sdp_provider_call_duration_seconds_sum", outcome="answered") > 0
    route = "/api/candidate/sessions/<uuid:session_id>/sdp/"
    assert moved("http_requests_total", method="POST", route=route, status_class="2xx") == 1
    assert moved("http_requests_total", method="POST", route=route, status_class="5xx") == 1


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
    return condition()


@pytest.mark.summaries
@pytest.mark.celery_worker_test
@pytest.mark.django_db(transaction=True)
def test_celery_task_outcomes_and_the_summarys_latency_are_counted(metrics_url, upstream, tenant_a):
    """On a real worker (in a thread), as in production: the summary fails once and is
    retried, then written; a delivery task given ids that do not exist fails."""
    upstream.then(error(503), ok(good_answer))
    session = interview(tenant_a)
    summarize, deliver = "interviews.tasks.summarize_session", "webhooks.tasks.send_delivery"
    before = scrape(metrics_url)

    def moved(name, **labels):
        return value(scrape(metrics_url), name, **labels) - value(before, name, **labels)

    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with rls.tenant_context(tenant_a.pk):
            services.session_end(
                session=InterviewSession.objects.get(pk=session.pk), reason="interview_complete"
            )
        assert wait_for(lambda: getattr(summary_of(session), "status", "") == "ready")
        send_delivery.delay("not-a-delivery-id", "not-a-tenant-id")
        assert wait_for(lambda: moved("celery_tasks_total", task=deliver, outcome="failure"))

    assert moved("celery_tasks_total", task=summarize, outcome="retry") == 1
    assert moved("celery_tasks_total", task=summarize, outcome="success") == 1
    assert moved("celery_tasks_total", task=summarize, outcome="failure") == 0
    assert moved("celery_tasks_total", task=deliver, outcome="failure") == 1
    assert moved("summary_latency_seconds_count", outcome="ready") == 1
    assert moved("summary_latency_seconds_sum", outcome="ready") >= 0


@pytest.mark.summaries
@pytest.mark.django_db
def test_a_task_run_inline_is_counted_too(
    metrics_url, upstream, tenant_a, django_capture_on_commit_callbacks
):
    upstream.then(ok(good_answer))
    session = interview(tenant_a)
    task = "interviews.tasks.summarize_session"
    before = scrape(metrics_url)
    end(session, django_capture_on_commit_callbacks)  # eager: the task runs on commit
    after = scrape(metrics_url)
    assert (
        value(after, "celery_tasks_total", task=task, outcome="success")
        - value(before, "celery_tasks_total", task=task, outcome="success")
        == 1
    )
    assert (
        value(after, "summary_latency_seconds_count", outcome="ready")
        - value(before, "summary_latency_seconds_count", outcome="ready")
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_webhook_deliveries_are_counted_by_the_receivers_status_class(
    metrics_url,
    webhook_receiver,  # noqa: F811 (the fixture)
    tenant_a,
):
    endpoint = WebhookEndpointFactory(tenant=tenant_a, url=webhook_receiver.url)
    failing = WebhookDeliveryFactory(endpoint=endpoint, tenant=tenant_a)
    fine = WebhookDeliveryFactory(endpoint=endpoint, tenant=tenant_a)
    before = scrape(metrics_url)
    webhook_receiver.status = 500
    webhook_services.delivery_attempt(delivery_id=failing.pk, tenant_id=tenant_a.pk)
    webhook_receiver.status = 204
    webhook_services.delivery_attempt(delivery_id=fine.pk, tenant_id=tenant_a.pk)
    after = scrape(metrics_url)

    def moved(**labels):
        name = "webhook_delivery_attempts_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(status_class="5xx", outcome="failed") == 1
    assert moved(status_class="2xx", outcome="succeeded") == 1
    assert len(webhook_receiver.requests) == 2


# The exporter reads the database on a thread of its own: the rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_sessions_in_progress_are_counted_across_every_tenant_when_scraped(
    metrics_url, tenant_a, tenant_b
):
    SessionFactory(tenant=tenant_a, status="live", started_at=timezone.now())
    SessionFactory(tenant=tenant_b, status="live", started_at=timezone.now())
    SessionFactory(tenant=tenant_b, status="connecting")
    SessionFactory(
        tenant=tenant_a,
        status="completed",
        started_at=timezone.now() - timedelta(minutes=20),
        ended_at=timezone.now(),
    )
    samples = scrape(metrics_url)
    assert value(samples, "interview_sessions_in_progress", status="live") == 2
    assert value(samples, "interview_sessions_in_progress", status="connecting") == 1
