"""Deleting a tenant: nothing goes during the grace period (and resuming cancels it); once it
is over the hourly job erases the tenant through the privacy services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core import rls
from interviews.models import Candidate, InterviewSession, InterviewTemplate, SessionStatus
from privacy.tasks import erase_deleted_tenants
from tenant_api.models import ApiClient
from tenants.models import AuditEvent, Membership, Tenant
from tenants.services import tenant_deletion_request, tenant_resume
from tests.factories import MembershipFactory, SessionFactory, TranscriptEntryFactory
from tests.tenant_api.support import make_client

pytestmark = pytest.mark.django_db


def populate(tenant):
    session = SessionFactory(tenant=tenant, status=SessionStatus.COMPLETED)
    TranscriptEntryFactory(tenant=tenant, session=session)
    MembershipFactory(tenant=tenant)
    make_client(tenant)
    return session


def request_deletion(tenant, days_ago: int):
    with rls.bypass_context():
        tenant_deletion_request(tenant=tenant, actor=None)
        Tenant.objects.filter(pk=tenant.pk).update(
            deletion_requested_at=timezone.now() - timedelta(days=days_ago)
        )


def rows(tenant) -> dict:
    with rls.bypass_context():
        return {
            model.__name__: model.objects.filter(tenant_id=tenant.pk).count()
            for model in (Candidate, InterviewSession, InterviewTemplate, Membership, ApiClient)
        }


def test_the_job_erases_tenants_past_the_grace_period_only(tenant_a, tenant_b, settings):
    settings.TENANT_DELETION_GRACE_DAYS = 30
    populate(tenant_a)
    populate(tenant_b)
    request_deletion(tenant_a, days_ago=31)
    request_deletion(tenant_b, days_ago=29)

    assert erase_deleted_tenants() == 1

    assert set(rows(tenant_a).values()) == {0}
    assert 0 not in rows(tenant_b).values()  # within its grace period: untouched
    with rls.bypass_context():
        erased = Tenant.objects.get(pk=tenant_a.pk)
        platform = AuditEvent.objects.get(tenant=None, action="tenant.erased")
        in_trail = AuditEvent.objects.filter(tenant=tenant_a, action="tenant.erased").exists()
        candidate_erasures = AuditEvent.objects.filter(
            tenant=tenant_a, action="candidate.erased_with_tenant"
        ).count()
    assert erased.deleted_at is not None and erased.status == "suspended"
    assert platform.details["candidates"] == 1 and in_trail and candidate_erasures == 1
    assert erase_deleted_tenants() == 0  # done once


def test_resuming_within_the_grace_period_cancels_the_deletion(tenant_a, settings):
    settings.TENANT_DELETION_GRACE_DAYS = 30
    populate(tenant_a)
    request_deletion(tenant_a, days_ago=10)
    with rls.bypass_context():
        tenant_resume(tenant=tenant_a, actor=None)
    settings.TENANT_DELETION_GRACE_DAYS = 0  # even with no grace left, nothing is due
    assert erase_deleted_tenants() == 0
    assert 0 not in rows(tenant_a).values()


def test_a_tenant_with_an_interview_on_a_call_waits_for_it(tenant_a, settings):
    settings.TENANT_DELETION_GRACE_DAYS = 30
    session = populate(tenant_a)
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(status=SessionStatus.LIVE)
    request_deletion(tenant_a, days_ago=31)
    assert erase_deleted_tenants() == 0
    assert rows(tenant_a)["InterviewSession"] == 1
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(status=SessionStatus.COMPLETED)
    assert erase_deleted_tenants() == 1
