"""The retention policy: each tenant's sessions past its retention period are archived (one
JSON file each) and then deleted with everything they produced, and the candidates,
invitations and consents left past it go too - in that tenant only, resumably, and recorded."""

import json

import pytest
from django.db import DatabaseError, transaction

from core import rls
from interviews.models import Candidate, InterviewSession
from invitations.models import InterviewInvitation
from privacy import archive, services
from tenants.models import AuditEvent, Tenant
from tenants.services import audit_events_prune
from tests.factories import CandidateFactory, ConsentFactory, InvitationFactory, TenantFactory
from tests.privacy.support import (
    age,
    audit_events,
    days_ago,
    interview,
    old_audit_event,
    tenant_rows,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant_a():
    return TenantFactory(name="Acme", slug="acme", retention_days=30)


@pytest.fixture
def tenant_b():
    return TenantFactory(name="Globex", slug="globex", retention_days=30)


def archives_of(tenant, candidate_id):
    return archive.candidate_archives(tenant_id=tenant.pk, candidate_id=candidate_id)


def test_a_session_past_retention_is_archived_then_deleted_with_all_it_had(tenant_a, tenant_b):
    interview(tenant_a, ended_days_ago=5)
    kept = tenant_rows(tenant_a)  # the recent interview: all of it stays
    old = interview(tenant_a, ended_days_ago=45)
    interview(tenant_b, ended_days_ago=45)  # as old, in another tenant
    theirs = tenant_rows(tenant_b)
    candidate = old.candidate

    counts = services.retention_apply(tenant_id=tenant_a.pk)

    # The old session went with everything it had, and its candidate, who had nothing else.
    assert tenant_rows(tenant_a) == kept
    assert tenant_rows(tenant_b) == theirs
    assert counts == {
        "archives": 1,
        "interviews.candidate": 1,
        "interviews.consent": 1,
        "interviews.interviewsession": 1,
        "interviews.sessionevent": 1,
        "interviews.sessionsummary": 1,
        "interviews.transcriptentry": 2,
        "interviews.videosegment": 1,
        "invitations.accommodationrequest": 1,
        "invitations.interviewinvitation": 1,
        "video_recordings": 2,
    }

    [name] = archives_of(tenant_a, candidate.pk)
    document = archive.archive_read(name)
    assert document["format"] == "interview-session-archive" and document["reason"] == "retention"
    assert document["session"]["id"] == str(old.pk)
    assert document["session"]["decision"] == "advance"
    assert document["decision"]["note"] == "Strong on queues."
    assert document["candidate"]["email"] == candidate.email
    assert document["candidate"]["full_name"] == candidate.full_name
    assert document["template"]["title"] == "Backend screen"
    assert [e["text"] for e in document["transcript"]] == ["Tell me more.", "I built a queue."]
    assert document["summary"]["summary"] == "Knows queues well."
    assert [e["kind"] for e in document["timeline"]] == ["status_changed"]
    assert document["consent"]["text"] == "I agree."
    assert document["invitation"]["accepted_at"] and "token_hash" not in document["invitation"]
    assert [r["message"] for r in document["accommodation_requests"]] == [
        "Could I type my answers?"
    ]
    assert document["video"]["recording_id"] == old.video_recording_id
    assert len(document["video"]["segments"]) == 1
    assert not archives_of(tenant_b, candidate.pk)


def test_the_run_is_recorded_in_the_tenants_audit_trail_with_its_counts(tenant_a, tenant_b):
    interview(tenant_a, ended_days_ago=45)
    services.retention_apply(tenant_id=tenant_a.pk)
    [event] = audit_events(tenant_a, "retention.applied")
    assert event.actor is None and event.actor_label == "retention job"
    assert event.target_id == str(tenant_a.pk)
    assert event.details["complete"] is True and event.details["retention_days"] == 30
    assert event.details["counts"]["interviews.interviewsession"] == 1
    assert not audit_events(tenant_b, "retention.applied")
    # A run with nothing to do is recorded too.
    services.retention_apply(tenant_id=tenant_a.pk)
    latest = audit_events(tenant_a, "retention.applied")[-1]
    assert latest.details["counts"] == {} and latest.details["complete"] is True


def test_a_candidate_with_a_session_still_kept_keeps_it_and_themselves(tenant_a):
    candidate = CandidateFactory(tenant=tenant_a)
    old = interview(tenant_a, ended_days_ago=45, candidate=candidate)
    recent = interview(tenant_a, ended_days_ago=2, candidate=candidate)
    services.retention_apply(tenant_id=tenant_a.pk)
    with rls.tenant_context(tenant_a.pk):
        assert list(InterviewSession.objects.values_list("pk", flat=True)) == [recent.pk]
        assert Candidate.objects.filter(pk=candidate.pk).exists()
    assert len(archives_of(tenant_a, candidate.pk)) == 1
    assert str(old.pk) in archives_of(tenant_a, candidate.pk)[0]


def test_sessions_under_way_are_never_archived_however_old(tenant_a):
    pending = interview(tenant_a, ended_days_ago=None, status="pending")
    age(InterviewSession, 90, pk=pending.pk)
    services.retention_apply(tenant_id=tenant_a.pk)
    with rls.tenant_context(tenant_a.pk):
        assert InterviewSession.objects.filter(pk=pending.pk).exists()


def test_a_session_that_ended_without_a_time_counts_from_its_creation(tenant_a):
    session = interview(tenant_a, ended_days_ago=None, status="failed")
    age(InterviewSession, 40, pk=session.pk)
    services.retention_apply(tenant_id=tenant_a.pk)
    with rls.tenant_context(tenant_a.pk):
        assert not InterviewSession.objects.filter(pk=session.pk).exists()


def test_candidates_invitations_and_consents_left_past_retention_go(tenant_a):
    never_invited_long_ago = CandidateFactory(tenant=tenant_a)
    age(Candidate, 40, pk=never_invited_long_ago.pk)
    added_last_week = CandidateFactory(tenant=tenant_a)
    age(Candidate, 7, pk=added_last_week.pk)
    expired = InvitationFactory(tenant=tenant_a, expires_at=days_ago(35))
    age(Candidate, 60, pk=expired.candidate_id)
    revoked_lately = InvitationFactory(
        tenant=tenant_a, expires_at=days_ago(31), revoked_at=days_ago(3)
    )
    age(Candidate, 60, pk=revoked_lately.candidate_id)
    still_open = InvitationFactory(tenant=tenant_a)
    age(Candidate, 60, pk=still_open.candidate_id)
    unused_consent = ConsentFactory(candidate=added_last_week, tenant=tenant_a)
    age(type(unused_consent), 40, pk=unused_consent.pk)

    counts = services.retention_apply(tenant_id=tenant_a.pk)

    with rls.tenant_context(tenant_a.pk):
        assert set(InterviewInvitation.objects.values_list("pk", flat=True)) == {
            revoked_lately.pk,
            still_open.pk,
        }
        assert set(Candidate.objects.values_list("pk", flat=True)) == {
            added_last_week.pk,
            revoked_lately.candidate_id,
            still_open.candidate_id,
        }
        assert not type(unused_consent).objects.filter(pk=unused_consent.pk).exists()
    assert counts["invitations.interviewinvitation"] == 1
    assert counts["interviews.candidate"] == 2
    assert counts["interviews.consent"] == 1


def test_a_tenant_with_no_retention_period_keeps_everything(tenant_a):
    session = interview(tenant_a, ended_days_ago=4000)
    with rls.bypass_context():
        Tenant.objects.filter(pk=tenant_a.pk).update(retention_days=0)
    before = tenant_rows(tenant_a)
    assert services.retention_apply(tenant_id=tenant_a.pk) == {}
    assert tenant_rows(tenant_a) == before
    assert not archives_of(tenant_a, session.candidate_id)
    [event] = audit_events(tenant_a, "retention.applied")
    assert event.details["cutoff"] is None


def test_a_run_that_failed_after_the_archive_is_finished_by_the_next(tenant_a, monkeypatch):
    session = interview(tenant_a, ended_days_ago=45)
    other = interview(tenant_a, ended_days_ago=50)
    delete = services.session_data_delete
    failures = []

    def crash_once(victim):
        if not failures:
            failures.append(victim.pk)
            raise DatabaseError("connection lost")
        return delete(victim)

    monkeypatch.setattr(services, "session_data_delete", crash_once)
    with pytest.raises(DatabaseError):
        services.retention_apply(tenant_id=tenant_a.pk)

    crashed = failures[0]
    crashed_candidate = session.candidate_id if crashed == session.pk else other.candidate_id
    # The archive was written; nothing of the session was deleted; the run says it stopped.
    assert len(archives_of(tenant_a, crashed_candidate)) == 1
    with rls.tenant_context(tenant_a.pk):
        assert InterviewSession.objects.filter(pk=crashed).exists()
        assert InterviewInvitation.objects.filter(session_id=crashed).exists()
    [stopped] = audit_events(tenant_a, "retention.applied")
    assert stopped.details["complete"] is False

    services.retention_apply(tenant_id=tenant_a.pk)

    with rls.tenant_context(tenant_a.pk):
        assert not InterviewSession.objects.exists()
        assert not Candidate.objects.exists()
    for candidate_id in (session.candidate_id, other.candidate_id):
        [name] = archives_of(tenant_a, candidate_id)  # one archive each, never a second copy
        assert json.loads(archive.archive_storage().open(name).read())["transcript"]
    assert audit_events(tenant_a, "retention.applied")[-1].details["complete"] is True


def test_running_again_changes_nothing(tenant_a):
    session = interview(tenant_a, ended_days_ago=45)
    interview(tenant_a, ended_days_ago=3)
    services.retention_apply(tenant_id=tenant_a.pk)
    after_first = tenant_rows(tenant_a)
    [name] = archives_of(tenant_a, session.candidate_id)
    written = archive.archive_read(name)
    assert services.retention_apply(tenant_id=tenant_a.pk) == {}
    assert tenant_rows(tenant_a) == after_first
    assert archive.archive_read(name) == written


def test_video_recordings_are_handed_to_the_providers_delete(
    tenant_a, monkeypatch, django_capture_on_commit_callbacks
):
    from live import video

    handed = []
    monkeypatch.setattr(
        video, "provider_delete", lambda tenant_id, ids: handed.append((tenant_id, ids)) or ids
    )
    session = interview(tenant_a, ended_days_ago=45)
    with rls.tenant_context(tenant_a.pk):
        segment_ids = list(session.video_segments.values_list("provider_video_id", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        services.retention_apply(tenant_id=tenant_a.pk)
    assert handed == [(str(tenant_a.pk), sorted([session.video_recording_id, *segment_ids]))]


# --- The audit trail's own retention --------------------------------------------------------


def test_audit_events_past_the_audit_retention_go_and_younger_ones_stay(tenant_a, tenant_b):
    old = old_audit_event(tenant_a, days=400)
    kept = old_audit_event(tenant_a, days=200)
    theirs = old_audit_event(tenant_b, days=400)
    counts = services.retention_apply(tenant_id=tenant_a.pk)
    assert counts == {"tenants.auditevent": 1}
    with rls.bypass_context():
        remaining = set(AuditEvent.objects.values_list("pk", flat=True))
    assert old not in {str(pk) for pk in remaining}
    assert {kept, theirs} <= {str(pk) for pk in remaining}


def test_the_database_refuses_to_delete_an_audit_event_younger_than_six_months(tenant_a):
    young = old_audit_event(tenant_a, days=150)
    with pytest.raises(ValueError):
        with rls.tenant_context(tenant_a.pk):
            audit_events_prune(tenant_id=tenant_a.pk, keep_days=30)
    old = old_audit_event(tenant_a, days=400)
    with rls.bypass_context():
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=young).delete()
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=old).update(action="changed")
        assert AuditEvent.objects.filter(pk__in=[young, old]).count() == 2


def test_audit_events_are_kept_forever_when_the_setting_is_zero(tenant_a, settings):
    settings.AUDIT_RETENTION_DAYS = 0
    old = old_audit_event(tenant_a, days=4000)
    services.retention_apply(tenant_id=tenant_a.pk)
    with rls.tenant_context(tenant_a.pk):
        assert AuditEvent.objects.filter(pk=old).exists()


def test_the_daily_job_prunes_platform_level_audit_events_too(tenant_a):
    from privacy import tasks

    platform_old = old_audit_event(None, days=400, action="console.login")
    platform_young = old_audit_event(None, days=30, action="console.login")
    tenant_old = old_audit_event(tenant_a, days=400)
    assert tasks.apply_retention_everywhere.delay().get() == 1  # tenants queued (run inline)
    with rls.bypass_context():
        remaining = {str(pk) for pk in AuditEvent.objects.values_list("pk", flat=True)}
    assert platform_young in remaining
    assert not {platform_old, tenant_old} & remaining
