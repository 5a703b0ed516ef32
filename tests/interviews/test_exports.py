"""Exporting candidates and sessions as CSV from the console: the columns (nothing secret),
who may (owners, admins, recruiters; not viewers or operators), from where (the tenant's
networks), how many (EXPORT_MAX_ROWS), and the audit event each export leaves."""

import csv
import io

import pytest
from django.urls import reverse

from core import rls
from interviews.services import exports
from tenants.models import AuditEvent, Role
from tests.conftest import console_client
from tests.factories import CandidateFactory, SessionFactory, SummaryFactory

pytestmark = pytest.mark.django_db

CANDIDATES = reverse("admin:interviews_candidate_changelist")
SESSIONS = reverse("admin:interviews_interviewsession_changelist")


def export(client, url, action, pks, **extra):
    return client.post(
        url, {"action": action, "_selected_action": [str(pk) for pk in pks]}, **extra
    )


def rows_of(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def export_events(tenant, action):
    with rls.tenant_context(tenant.pk):
        return list(AuditEvent.objects.filter(action=action))


def test_a_recruiter_exports_the_selected_candidates(tenant_a, tenant_b):
    ada = CandidateFactory(tenant=tenant_a, full_name="Ada Lovelace", external_id="X-17")
    CandidateFactory(tenant=tenant_a)  # not selected
    elsewhere = CandidateFactory(tenant=tenant_b)  # another tenant's id, slipped in
    client = console_client(tenant_a, Role.RECRUITER)

    response = export(
        client, CANDIDATES, "export_candidates_csv", [ada.pk, elsewhere.pk], HTTP_X_REQUEST_ID="r-1"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="acme-candidates-')
    rows = rows_of(response)
    assert [r["email"] for r in rows] == [ada.email]
    assert list(rows[0]) == list(exports.CANDIDATE_COLUMNS)
    assert rows[0]["full_name"] == "Ada Lovelace" and rows[0]["external_id"] == "X-17"
    [event] = export_events(tenant_a, "export.candidates")
    assert event.details["rows"] == 1 and event.actor_id == client.user.pk
    assert (event.ip, event.request_id) == ("127.0.0.1", "r-1")


def test_a_session_export_has_the_outcome_and_no_secrets(tenant_a):
    session = SessionFactory(
        tenant=tenant_a,
        provider_call_id="rtc_secret_call",
        video_recording_url="https://video.example/private",
    )
    SummaryFactory(session=session, overall_rating=4, recommendation="advance")
    client = console_client(tenant_a, Role.OWNER)

    response = export(client, SESSIONS, "export_sessions_csv", [session.pk])

    [row] = rows_of(response)
    assert list(row) == list(exports.SESSION_COLUMNS)
    assert row["candidate_email"] == session.candidate.email
    assert row["ai_rating"].startswith("4") and row["ai_recommendation"] == "advance"
    body = ",".join(row.values())
    assert "rtc_secret_call" not in body and "video.example" not in body
    [event] = export_events(tenant_a, "export.sessions")
    assert event.details["rows"] == 1


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://evil.example")',
        " =1+1",  # leading blanks do not stop a spreadsheet
        "\n=1+1",
        "\uff1d1+1",  # a full-width equals sign
        "@SUM(A1)",
        "+1+1",
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(tenant_a, name):
    sly = CandidateFactory(tenant=tenant_a, full_name=name)
    client = console_client(tenant_a, Role.RECRUITER)
    [row] = rows_of(export(client, CANDIDATES, "export_candidates_csv", [sly.pk]))
    assert row["full_name"] == "'" + name


@pytest.mark.parametrize("role", [Role.VIEWER])
def test_viewers_do_not_export(tenant_a, role):
    candidate = CandidateFactory(tenant=tenant_a)
    client = console_client(tenant_a, role)
    page = client.get(CANDIDATES).content.decode()
    assert "export_candidates_csv" not in page
    response = export(client, CANDIDATES, "export_candidates_csv", [candidate.pk])
    assert not response.get("Content-Type", "").startswith("text/csv")
    assert not export_events(tenant_a, "export.candidates")


@pytest.mark.parametrize("role", [Role.RECRUITER, Role.ADMIN, Role.OWNER])
def test_owners_admins_and_recruiters_are_offered_the_export(tenant_a, role):
    SessionFactory(tenant=tenant_a)  # the admin offers actions on a list with rows
    client = console_client(tenant_a, role)
    assert "export_candidates_csv" in client.get(CANDIDATES).content.decode()
    assert "export_sessions_csv" in client.get(SESSIONS).content.decode()


def test_operators_do_not_export_a_companys_candidates(tenant_a, operator_client):
    candidate = CandidateFactory(tenant=tenant_a)
    assert "export_candidates_csv" not in operator_client.get(CANDIDATES).content.decode()
    response = export(operator_client, CANDIDATES, "export_candidates_csv", [candidate.pk])
    assert not response.get("Content-Type", "").startswith("text/csv")
    with rls.bypass_context():
        assert not AuditEvent.objects.filter(action="export.candidates").exists()


def test_exports_are_under_the_tenants_network_list(tenant_a, settings):
    settings.CLIENT_IP_HEADER = ""
    with rls.bypass_context():
        type(tenant_a).objects.filter(pk=tenant_a.pk).update(
            allowed_admin_networks=["10.0.0.0/8", "2001:db8::/32"]
        )
    candidate = CandidateFactory(tenant=tenant_a)
    client = console_client(tenant_a, Role.RECRUITER)
    for address in ("192.0.2.7", "2001:db9::1"):
        refused = export(
            client, CANDIDATES, "export_candidates_csv", [candidate.pk], REMOTE_ADDR=address
        )
        assert refused.status_code == 403
    allowed = export(
        client, CANDIDATES, "export_candidates_csv", [candidate.pk], REMOTE_ADDR="2001:db8::1"
    )
    assert [r["id"] for r in rows_of(allowed)] == [str(candidate.pk)]
    assert len(export_events(tenant_a, "export.candidates")) == 1


def test_the_service_checks_the_network_itself(tenant_a):
    from django.core.exceptions import PermissionDenied

    from core import requestcontext
    from interviews.models import Candidate
    from tenants.models import Membership

    with rls.bypass_context():
        type(tenant_a).objects.filter(pk=tenant_a.pk).update(allowed_admin_networks=["10.0.0.0/8"])
    client = console_client(tenant_a, Role.OWNER)
    with rls.tenant_context(tenant_a.pk):
        membership = Membership.objects.select_related("tenant").get(user=client.user)
        token = requestcontext.client_ip.set("192.0.2.7")
        try:
            with pytest.raises(PermissionDenied):
                exports.candidates_export(
                    membership=membership, actor=client.user, candidates=Candidate.objects.all()
                )
        finally:
            requestcontext.client_ip.reset(token)


def test_a_selection_over_the_cap_is_refused_with_a_message(tenant_a, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_MAX_ROWS", 2)
    picked = [CandidateFactory(tenant=tenant_a).pk for _ in range(3)]
    client = console_client(tenant_a, Role.RECRUITER)

    response = export(client, CANDIDATES, "export_candidates_csv", picked, follow=True)

    assert not response.get("Content-Type", "").startswith("text/csv")
    assert "An export holds at most 2 rows" in response.content.decode()
    assert not export_events(tenant_a, "export.candidates")
    exactly = export(client, CANDIDATES, "export_candidates_csv", picked[:2])
    assert len(rows_of(exactly)) == 2


def test_the_query_count_does_not_grow_with_the_rows(tenant_a, django_assert_max_num_queries):
    client = console_client(tenant_a, Role.RECRUITER)
    sessions = [SessionFactory(tenant=tenant_a) for _ in range(7)]
    for session in sessions[1:4]:
        SummaryFactory(session=session)
    few, many = [sessions[0].pk], [s.pk for s in sessions]
    rows_of(export(client, SESSIONS, "export_sessions_csv", few))  # warm the caches

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        rows_of(export(client, SESSIONS, "export_sessions_csv", few))
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(rows_of(export(client, SESSIONS, "export_sessions_csv", many))) == 7
