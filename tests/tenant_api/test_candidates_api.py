"""Candidates through the tenant API: create, upsert by external id, read, list with filters
and cursor pages, update, erase; Idempotency-Key on POST; another tenant's ids are 404s."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from core import rls
from interviews.models import Candidate
from tenant_api.models import IdempotencyRecord
from tenant_api.tasks import prune_idempotency_records
from tenants.models import AuditEvent
from tests.factories import CandidateFactory, SessionFactory

pytestmark = pytest.mark.django_db

ADA = {"email": "Ada@Example.com", "full_name": "Ada Lovelace", "external_id": "ats-1"}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def stored(tenant):
    with rls.tenant_context(tenant.pk):
        return list(Candidate.objects.order_by("created_at"))


def test_create_read_update_and_list(acme_api, tenant_a):
    created = acme_api.call("POST", "candidates/", ADA)
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "ada@example.com" and body["status"] == "new"
    assert body["console_url"].endswith(f"/admin/interviews/candidate/{body['id']}/change/")
    assert acme_api.call("GET", f"candidates/{body['id']}/").json() == body

    changed = acme_api.call("PATCH", f"candidates/{body['id']}/", {"status": "on_hold"})
    assert changed.status_code == 200 and changed.json()["status"] == "on_hold"
    listed = acme_api.call("GET", "candidates/?status=on_hold").json()
    assert [c["id"] for c in listed["results"]] == [body["id"]]
    assert acme_api.call("GET", "candidates/?status=new").json()["results"] == []
    with rls.tenant_context(tenant_a.pk):
        actions = list(
            AuditEvent.objects.filter(target_id=body["id"]).values_list("action", "actor_label")
        )
    assert ("candidate.created", f"api:{acme_api.client_id}") in actions


def test_a_duplicate_email_is_a_400_in_the_error_shape(acme_api):
    acme_api.call("POST", "candidates/", ADA)
    response = acme_api.call("POST", "candidates/", {**ADA, "external_id": "ats-2"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    "body", [{}, {"email": "not an email"}, {"email": "a@b.co", "status": "hired"}, ["a list"]]
)
def test_bad_input_is_a_400_and_nothing_is_written(acme_api, tenant_a, body):
    assert acme_api.call("POST", "candidates/", body).status_code == 400
    assert stored(tenant_a) == []


def test_upsert_by_external_id_creates_then_updates(acme_api, tenant_a):
    first = acme_api.call("PUT", "candidates/by-external-id/ats-7/", {"email": "grace@example.com"})
    assert first.status_code == 201
    again = acme_api.call(
        "PUT",
        "candidates/by-external-id/ats-7/",
        {"email": "grace@example.com", "full_name": "Grace"},
    )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert [c.full_name for c in stored(tenant_a)] == ["Grace"]


def test_lists_page_with_a_cursor(acme_api, tenant_a, settings):
    settings.API_PAGE_SIZE = 2
    for n in range(5):
        CandidateFactory(tenant=tenant_a, email=f"c{n}@example.com")
    seen, url = [], "candidates/"
    while url:
        page = acme_api.call("GET", url).json()
        seen += [c["email"] for c in page["results"]]
        url = page["next"].split("/api/v1/", 1)[1] if page["next"] else None
    assert sorted(seen) == [f"c{n}@example.com" for n in range(5)] and len(seen) == 5


def test_erase_removes_the_candidate_and_their_sessions(acme_api, tenant_a):
    candidate = CandidateFactory(tenant=tenant_a)
    SessionFactory(tenant=tenant_a, candidate=candidate, status="completed")
    assert acme_api.call("DELETE", f"candidates/{candidate.pk}/").status_code == 204
    assert stored(tenant_a) == []
    assert acme_api.call("GET", f"candidates/{candidate.pk}/").status_code == 404


def test_erase_waits_for_an_interview_in_progress(acme_api, tenant_a):
    candidate = CandidateFactory(tenant=tenant_a)
    SessionFactory(tenant=tenant_a, candidate=candidate, status="live")
    response = acme_api.call("DELETE", f"candidates/{candidate.pk}/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "interview_in_progress"
    assert len(stored(tenant_a)) == 1


def test_another_tenants_candidate_is_a_404_for_every_operation(acme_api, tenant_b):
    theirs = CandidateFactory(tenant=tenant_b, external_id="ats-9")
    for method, body in (("GET", None), ("PATCH", {"full_name": "x"}), ("DELETE", None)):
        response = acme_api.call(method, f"candidates/{theirs.pk}/", body)
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "not_found"
    assert acme_api.call("GET", "candidates/?external_id=ats-9").json()["results"] == []
    # Upserting their external id makes a candidate of our own, never touches theirs.
    made = acme_api.call("PUT", "candidates/by-external-id/ats-9/", {"email": "x@example.com"})
    assert made.status_code == 201 and made.json()["id"] != str(theirs.pk)
    with rls.tenant_context(tenant_b.pk):
        assert Candidate.objects.get(pk=theirs.pk).email == theirs.email


# --- Idempotency-Key ----------------------------------------------------------------------


def test_the_same_key_and_body_replays_the_first_answer(acme_api, tenant_a):
    first = acme_api.call("POST", "candidates/", ADA, HTTP_IDEMPOTENCY_KEY="k-1")
    again = acme_api.call("POST", "candidates/", ADA, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert len(stored(tenant_a)) == 1


def test_the_same_key_with_another_body_is_a_409(acme_api, tenant_a):
    acme_api.call("POST", "candidates/", ADA, HTTP_IDEMPOTENCY_KEY="k-1")
    other = acme_api.call(
        "POST", "candidates/", {**ADA, "email": "b@example.com"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_mismatch"
    assert len(stored(tenant_a)) == 1


def test_a_refusal_is_replayed_too_and_keys_belong_to_one_client(acme_api, globex_api):
    bad = {"email": "nope"}
    assert acme_api.call("POST", "candidates/", bad, HTTP_IDEMPOTENCY_KEY="k").status_code == 400
    assert acme_api.call("POST", "candidates/", bad, HTTP_IDEMPOTENCY_KEY="k").status_code == 400
    # Another client (here another tenant's) may use the same key for its own request.
    assert globex_api.call("POST", "candidates/", ADA, HTTP_IDEMPOTENCY_KEY="k").status_code == 201


def test_an_invalid_key_is_a_400(acme_api, tenant_a):
    response = acme_api.call("POST", "candidates/", ADA, HTTP_IDEMPOTENCY_KEY="x" * 201)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert stored(tenant_a) == []


def _record(tenant, caller, key, *, status_code=None, age=timedelta(0)):
    with rls.tenant_context(tenant.pk):
        record = IdempotencyRecord.objects.create(
            tenant=tenant,
            client_id=caller.pk,
            key=key,
            fingerprint=hashlib.sha256(
                b"\n".join([b"POST", b"/api/v1/candidates/", json.dumps(ADA).encode()])
            ).hexdigest(),
            status_code=status_code,
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)


def test_a_record_without_its_answer_is_a_409(acme_api, tenant_a):
    _record(tenant_a, acme_api, "busy")
    response = acme_api.call("POST", "candidates/", ADA, HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"


def test_a_request_that_fails_unanswered_keeps_nothing_and_may_be_sent_again(
    acme_api, tenant_a, monkeypatch
):
    from tenant_api.views import candidates

    real = candidates.CandidateSerializer.to_representation
    monkeypatch.setattr(
        candidates.CandidateSerializer,
        "to_representation",
        lambda self, obj: (_ for _ in ()).throw(RuntimeError("boom")),
    )
    acme_api.authorize()
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {acme_api.token}")
    failed = client.post(
        "/api/v1/candidates/", ADA, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert failed.status_code == 500
    assert stored(tenant_a) == []  # the candidate went with the failed answer
    monkeypatch.setattr(candidates.CandidateSerializer, "to_representation", real)
    again = acme_api.call("POST", "candidates/", ADA, HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 201 and len(stored(tenant_a)) == 1


def test_a_race_on_a_unique_row_is_a_409_not_a_500(acme_api, tenant_a, monkeypatch):
    from django.db import IntegrityError

    from interviews import services

    def racing(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "candidate_create", racing)
    response = acme_api.call("POST", "candidates/", ADA)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "concurrent_change"


def test_answers_are_forgotten_after_their_time(acme_api, tenant_a, settings):
    settings.API_IDEMPOTENCY_HOURS = 24
    _record(tenant_a, acme_api, "old", status_code=201, age=timedelta(hours=25))
    _record(tenant_a, acme_api, "new", status_code=201, age=timedelta(hours=23))
    assert prune_idempotency_records() == 1
    with rls.tenant_context(tenant_a.pk):
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
