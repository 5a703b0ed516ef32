"""A NUL in a URL, form field, cookie or header is a 400 before it reaches the database."""

import pytest
from django.test import Client
from django.urls import reverse

from core import rls
from interviews.models import Candidate, Consent
from invitations.models import AccommodationRequest
from tests.factories import CandidateFactory
from tests.invitations.test_onboarding import issued_link

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    ["status=%00", "status__exact=%00", "q=%00", "q=ada%00", "%00=1", "o=%00"],
)
def test_a_nul_in_a_console_changelists_query_is_a_400(recruiter_client, tenant_a, query):
    CandidateFactory(tenant=tenant_a)
    response = recruiter_client.get(f"/admin/interviews/candidate/?{query}")
    assert response.status_code == 400
    assert b"Traceback" not in response.content


def test_a_nul_in_a_console_form_is_a_400_and_changes_nothing(recruiter_client, tenant_a):
    candidate = CandidateFactory(tenant=tenant_a, full_name="Ada")
    response = recruiter_client.post(
        "/admin/interviews/candidate/",
        {"action": "delete_selected", "_selected_action": [f"{candidate.pk}\x00"], "post": "yes"},
    )
    assert response.status_code == 400
    with rls.tenant_context(tenant_a.pk):
        assert Candidate.objects.filter(pk=candidate.pk).exists()


def test_a_nul_in_the_accommodation_request_is_a_400_and_nothing_is_stored(client, tenant_a):
    _, link = issued_link(tenant_a)
    client.get(link)
    response = client.post(reverse("interview_accommodation"), {"message": "I need\x00 time"})
    assert response.status_code == 400
    with rls.tenant_context(tenant_a.pk):
        assert not AccommodationRequest.objects.exists()


def test_a_nul_in_a_header_kept_with_the_consent_is_a_400(client, tenant_a):
    _, link = issued_link(tenant_a)
    client.get(link)
    response = client.post(
        reverse("interview_consent"), {"agree": "yes"}, HTTP_USER_AGENT="Firefox\x00"
    )
    assert response.status_code == 400
    with rls.tenant_context(tenant_a.pk):
        assert not Consent.objects.exists()


def test_a_nul_in_a_cookie_is_a_400(tenant_a):
    client = Client()
    client.cookies["sessionid"] = "abcdefghijkl\x00mnop"
    assert client.get("/admin/").status_code == 400


def test_a_nul_in_an_api_query_string_is_a_json_400(client):
    response = client.get("/api/schema/?format=%00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"


def test_ordinary_requests_pass(recruiter_client):
    assert recruiter_client.get("/admin/interviews/candidate/?q=ada").status_code == 200
