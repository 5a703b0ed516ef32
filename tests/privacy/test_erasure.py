"""Erasure on request: one candidate's personal data goes from every table and archive of
their tenant, their recordings go to the provider's delete, and the audit trail says what was
erased - never a value - while another candidate, and the same person elsewhere, are kept."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from core import rls
from interviews.models import Candidate
from privacy import archive, services
from tenants.models import AuditEvent
from tests.factories import CandidateFactory, ConsentFactory, UserFactory
from tests.privacy.support import audit_events, interview, tenant_rows

pytestmark = pytest.mark.django_db
User = get_user_model()


def erase(candidate, actor=None, **kwargs):
    with rls.tenant_context(candidate.tenant_id):
        return services.candidate_erase(candidate=candidate, actor=actor, **kwargs)


def test_erasure_removes_the_candidate_and_everything_about_them_in_their_tenant(
    tenant_a, tenant_b, monkeypatch, django_capture_on_commit_callbacks
):
    from live import video

    handed = []
    monkeypatch.setattr(video, "provider_delete", lambda t, ids: handed.append((t, ids)) or ids)
    other = interview(tenant_a, ended_days_ago=1)
    kept = tenant_rows(tenant_a)  # another candidate of the same tenant
    ada = CandidateFactory(tenant=tenant_a, email="ada@example.com", full_name="Ada Lovelace")
    first = interview(tenant_a, ended_days_ago=3, candidate=ada)
    interview(
        tenant_a, ended_days_ago=None, candidate=ada, status="pending"
    )  # started, not on a call yet
    ConsentFactory(candidate=ada, tenant=tenant_a)  # agreed, never started
    # The same person in another tenant.
    elsewhere = CandidateFactory(tenant=tenant_b, email="ada@example.com", full_name="Ada L.")
    interview(tenant_b, ended_days_ago=3, candidate=elsewhere)
    theirs = tenant_rows(tenant_b)
    archived = archive.session_archive_name(
        tenant_id=tenant_a.pk, candidate_id=ada.pk, session_id=first.pk
    )
    archive.archive_write(archived, {"candidate": {"email": "ada@example.com"}})
    actor = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        details = erase(ada, actor=actor)

    assert tenant_rows(tenant_a) == kept
    assert tenant_rows(tenant_b) == theirs
    assert not archive.candidate_archives(tenant_id=tenant_a.pk, candidate_id=ada.pk)
    with rls.tenant_context(tenant_a.pk):
        assert Candidate.objects.filter(pk=other.candidate_id).exists()
    [(tenant_id, video_ids)] = handed
    assert tenant_id == str(tenant_a.pk) and len(video_ids) == 3  # 2 segments, 1 recording

    erased = details["erased"]
    assert erased["interviews.candidate"]["count"] == 1
    assert erased["interviews.interviewsession"]["count"] == 2
    assert erased["interviews.transcriptentry"]["count"] == 4
    assert erased["interviews.consent"]["count"] == 3
    assert erased["invitations.interviewinvitation"]["count"] == 2
    assert erased["invitations.accommodationrequest"]["count"] == 2
    assert "full_name" in erased["interviews.candidate"]["fields"]
    assert "text" in erased["interviews.transcriptentry"]["fields"]
    assert details["archives"] == 1 and details["video_recordings"] == 3

    [event] = audit_events(tenant_a, "candidate.erased")
    assert event.actor_id == actor.pk and event.target_id == str(ada.pk)
    assert event.details == details
    assert event.target_repr == f"Candidate {str(ada.pk)[:8]}"
    with rls.bypass_context():
        trail = repr(list(AuditEvent.objects.values_list("target_repr", "details")))
    assert not re.search(r"(?i)lovelace|ada@|queue|strong on|type my answers", trail)


def test_an_account_only_this_candidate_used_goes_with_them(tenant_a, tenant_b):
    alone = UserFactory(username="alone@example.com")
    with rls.bypass_context():
        EmailAddress.objects.create(user=alone, email=alone.email, verified=True, primary=True)
    shared = UserFactory(username="shared@example.com")
    member = UserFactory(username="member@example.com", is_staff=True)
    one = CandidateFactory(tenant=tenant_a, user=alone, email=alone.email)
    two = CandidateFactory(tenant=tenant_a, user=shared, email=shared.email)
    CandidateFactory(tenant=tenant_b, user=shared, email=shared.email)
    three = CandidateFactory(tenant=tenant_a, user=member, email=member.email)

    assert erase(one)["accounts"] == 1
    assert erase(two)["accounts"] == 0  # still a candidate of another tenant
    assert erase(three)["accounts"] == 0  # a console login
    with rls.bypass_context():
        assert set(User.objects.values_list("username", flat=True)) >= {
            "shared@example.com",
            "member@example.com",
        }
        assert not User.objects.filter(username="alone@example.com").exists()
        assert not EmailAddress.objects.filter(email="alone@example.com").exists()


def test_erasing_a_candidate_of_another_tenant_finds_nothing(tenant_a, tenant_b):
    theirs = CandidateFactory(tenant=tenant_b)
    before = tenant_rows(tenant_b)
    with rls.tenant_context(tenant_a.pk), pytest.raises(Candidate.DoesNotExist):
        services.candidate_erase(
            candidate=Candidate(pk=theirs.pk, tenant_id=tenant_a.pk), actor=None
        )
    assert tenant_rows(tenant_b) == before


def test_erasure_deletes_the_recordings_at_the_video_provider(
    tenant_a, apivideo, django_capture_on_commit_callbacks
):
    from interviews.models import VideoSegment
    from live.video.provider import get_video_provider

    ada = CandidateFactory(tenant=tenant_a, email="ada@example.com")
    session = interview(tenant_a, ended_days_ago=3, candidate=ada)
    provider = get_video_provider()
    kept = provider.create_video("another candidate's")
    video_ids = [provider.create_video("interview"), provider.create_video("interview")]
    with rls.bypass_context():
        VideoSegment.objects.filter(session=session).update(provider_video_id=video_ids[0])
        VideoSegment.objects.create(
            tenant=tenant_a, session=session, provider_video_id=video_ids[1]
        )

    with django_capture_on_commit_callbacks(execute=True):
        erase(ada)

    # The session's older recording id (never at this provider) was already gone: a 404.
    assert sorted(apivideo.deleted) == sorted(video_ids)
    assert set(apivideo.videos) == {kept}
    with rls.bypass_context():
        assert not AuditEvent.objects.filter(action="video.delete_failed").exists()
