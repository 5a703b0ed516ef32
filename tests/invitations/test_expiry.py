"""The expiry job: open invitations past their expiry date are stamped expired, each once, in
its own tenant's audit trail."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import rls
from invitations import tasks
from invitations.models import InterviewInvitation
from invitations.services import invitation_expire
from tenants.models import AuditEvent
from tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def stored(invitation):
    with rls.bypass_context():
        return InterviewInvitation.objects.get(pk=invitation.pk)


def expiry_events(tenant):
    with rls.tenant_context(tenant.pk):
        return list(
            AuditEvent.objects.filter(action="invitation.expired").values_list(
                "target_id", "actor_label", "details"
            )
        )


def test_invitations_past_their_date_are_stamped_expired_once_in_their_tenant(tenant_a, tenant_b):
    due_a = InvitationFactory(tenant=tenant_a, expires_at=ago(hours=2))
    due_b = InvitationFactory(tenant=tenant_b, expires_at=ago(days=3))
    open_ = InvitationFactory(tenant=tenant_a)
    accepted = InvitationFactory(tenant=tenant_a, expires_at=ago(days=1), accepted_at=ago(days=2))
    revoked = InvitationFactory(tenant=tenant_a, expires_at=ago(days=1), revoked_at=ago(days=2))

    assert tasks.expire_invitations.delay().get() == 2

    assert stored(due_a).expired_at == due_a.expires_at  # when it stopped working
    assert stored(due_b).expired_at == due_b.expires_at
    for untouched in (open_, accepted, revoked):
        assert stored(untouched).expired_at is None
    assert stored(due_a).status == stored(due_b).status == "expired"
    assert expiry_events(tenant_a) == [(str(due_a.pk), "expiry job", {"because": "expiry_date"})]
    assert [target for target, _, _ in expiry_events(tenant_b)] == [str(due_b.pk)]

    assert tasks.expire_invitations.delay().get() == 0  # each is stamped once
    assert len(expiry_events(tenant_a)) == 1


def test_the_consoles_expire_stamps_it_too_and_the_job_leaves_it(tenant_a, recruiter_client):
    invitation = InvitationFactory(tenant=tenant_a)
    with rls.tenant_context(tenant_a.pk):
        assert invitation_expire(invitation=invitation, actor=recruiter_client.user)
    assert stored(invitation).expired_at is not None
    assert stored(invitation).status == "expired"
    assert tasks.expire_invitations.delay().get() == 0
    assert len(expiry_events(tenant_a)) == 1
