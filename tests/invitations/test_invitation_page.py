from datetime import timedelta

import pytest
from django.utils import timezone

from core import rls
from invitations.services import invitation_deliver, invitation_issue
from tests.factories import CandidateFactory, InvitationFactory, TemplateFactory

pytestmark = pytest.mark.django_db


def issue(tenant):
    candidate = CandidateFactory(tenant=tenant)
    template = TemplateFactory(tenant=tenant, role="Data engineer")
    with rls.tenant_context(tenant.pk):
        invitation = invitation_issue(
            candidate=candidate, template=template, actor=None, send=False
        )
    token = invitation_deliver(invitation_id=invitation.pk, tenant_id=tenant.pk)
    with rls.tenant_context(tenant.pk):
        invitation.refresh_from_db()
    return invitation, token


def test_tokens_are_long_random_and_stored_only_as_a_hash(tenant_a):
    invitation, token = issue(tenant_a)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert token not in invitation.token_hash
    assert len(invitation.token_hash) == 64


def test_a_valid_link_shows_the_invitation(client, tenant_a):
    _, token = issue(tenant_a)
    response = client.get(f"/i/{token}")
    assert response.status_code == 200
    assert "Data engineer" in response.content.decode()


@pytest.mark.parametrize(
    "fields,status,text",
    [
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, 410, "expired"),
        ({"revoked_at": timezone.now()}, 410, "withdrawn"),
        ({"accepted_at": timezone.now()}, 410, "already been used"),
    ],
)
def test_unusable_invitations_say_why(client, tenant_a, fields, status, text):
    InvitationFactory(tenant=tenant_a, token="t" * 43, **fields)
    response = client.get("/i/" + "t" * 43)
    assert response.status_code == status
    assert text in response.content.decode()


def test_an_unknown_token_is_a_plain_404(client):
    response = client.get("/i/" + "u" * 43)
    assert response.status_code == 404
    assert "not valid" in response.content.decode()
