"""Recruiter changes made in the console go through services and land in the audit trail."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from core import rls
from interviews.models import Candidate, InterviewSession, TranscriptEntry
from tenants.models import AuditEvent, Role
from tests.conftest import console_client
from tests.factories import (
    CandidateFactory,
    CriterionFactory,
    QuestionFactory,
    SessionEventFactory,
    SessionFactory,
    TemplateFactory,
    TranscriptEntryFactory,
)
from tests.support.console import field_errors, form_row

pytestmark = pytest.mark.django_db


# What the candidate form posts for its read-only inlines (sessions, invitations) when they
# are empty, as a browser would send it.
NO_INLINE_ROWS = {
    f"{prefix}-{field}": 0
    for prefix in ("sessions", "invitations")
    for field in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def audit_actions(tenant):
    with rls.tenant_context(tenant.pk):
        return list(AuditEvent.objects.order_by("created_at").values_list("action", "details"))


def test_adding_a_candidate_is_audited_and_normalised(recruiter_client, tenant_a):
    response = recruiter_client.post(
        reverse("admin:interviews_candidate_add"),
        {
            "email": "  Ada@Example.COM ",
            "full_name": "Ada",
            "external_id": "",
            "status": "new",
            **NO_INLINE_ROWS,
        },
    )
    assert response.status_code == 302, response.content
    with rls.tenant_context(tenant_a.pk):
        candidate = Candidate.objects.get()
    assert candidate.email == "ada@example.com" and candidate.tenant_id == tenant_a.pk
    assert audit_actions(tenant_a) == [("candidate.created", {})]


def test_editing_a_candidate_records_fields_not_values(recruiter_client, tenant_a):
    candidate = CandidateFactory(tenant=tenant_a, full_name="Old")
    recruiter_client.post(
        reverse("admin:interviews_candidate_change", args=[candidate.pk]),
        {
            "email": candidate.email,
            "full_name": "New Name",
            "external_id": candidate.external_id,
            "status": "advanced",
            **NO_INLINE_ROWS,
        },
    )
    [(action, details)] = audit_actions(tenant_a)
    assert action == "candidate.changed"
    assert details == {
        "fields": ["full_name", "status"],
        "status": {"from": "new", "to": "advanced"},
    }
    assert "New Name" not in str(details)
    with rls.tenant_context(tenant_a.pk):
        event = AuditEvent.objects.get()
        assert event.actor == recruiter_client.user  # a member's account, visible in its tenant
    assert event.request_id and event.ip == "127.0.0.1"


def test_a_duplicate_email_is_shown_beside_the_field_with_what_was_typed(
    recruiter_client, tenant_a
):
    CandidateFactory(tenant=tenant_a, email="dup@example.com")
    response = recruiter_client.post(
        reverse("admin:interviews_candidate_add"),
        {
            "email": "DUP@example.com",
            "full_name": "Grace Hopper",
            "external_id": "ATS-77",
            "status": "new",
            **NO_INLINE_ROWS,
        },
    )
    assert response.status_code == 200  # the form again, not a redirect to a blank one
    page = response.content.decode()
    assert field_errors(page, "email") == ["A candidate with this email already exists."]
    assert 'value="DUP@example.com"' in form_row(page, "email")
    assert 'value="Grace Hopper"' in form_row(page, "full_name")
    assert 'value="ATS-77"' in form_row(page, "external_id")
    with rls.tenant_context(tenant_a.pk):
        assert Candidate.objects.count() == 1
        assert not AuditEvent.objects.exists()


def test_a_duplicate_email_on_a_change_is_shown_beside_the_field(recruiter_client, tenant_a):
    CandidateFactory(tenant=tenant_a, email="taken@example.com")
    candidate = CandidateFactory(tenant=tenant_a, email="mine@example.com", full_name="Old")
    response = recruiter_client.post(
        reverse("admin:interviews_candidate_change", args=[candidate.pk]),
        {
            "email": "taken@example.com",
            "full_name": "New Name",
            "external_id": candidate.external_id,
            "status": "new",
            **NO_INLINE_ROWS,
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert field_errors(page, "email") == ["A candidate with this email already exists."]
    assert 'value="New Name"' in form_row(page, "full_name")
    with rls.tenant_context(tenant_a.pk):
        candidate.refresh_from_db()
        assert (candidate.email, candidate.full_name) == ("mine@example.com", "Old")
        assert not AuditEvent.objects.exists()


def test_status_action_and_delete_are_audited(tenant_a):
    client = console_client(tenant_a, Role.ADMIN)
    first, second = CandidateFactory.create_batch(2, tenant=tenant_a)
    changelist = reverse("admin:interviews_candidate_changelist")
    client.post(changelist, {"action": "mark_rejected", "_selected_action": [first.pk, second.pk]})
    client.post(reverse("admin:interviews_candidate_delete", args=[first.pk]), {"post": "yes"})
    actions = [a for a, _ in audit_actions(tenant_a)]
    assert actions == ["candidate.changed", "candidate.changed", "candidate.deleted"]


def test_an_erased_candidate_leaves_no_name_or_address_in_any_log(tenant_a):
    from django.contrib.admin.models import LogEntry

    client = console_client(tenant_a, Role.ADMIN)
    add = {"email": "ada@example.com", "full_name": "Ada Lovelace", "status": "new"}
    client.post(reverse("admin:interviews_candidate_add"), {**add, **NO_INLINE_ROWS})
    with rls.tenant_context(tenant_a.pk):
        candidate = Candidate.objects.get()
    change = reverse("admin:interviews_candidate_change", args=[candidate.pk])
    client.post(change, {**add, "full_name": "Ada King", **NO_INLINE_ROWS})
    client.post(reverse("admin:interviews_candidate_delete", args=[candidate.pk]), {"post": "yes"})

    with rls.bypass_context():
        assert not LogEntry.objects.exists()  # the admin's own log is not written
        trail = list(AuditEvent.objects.values_list("action", "target_repr", "details"))
    assert [action for action, _, _ in trail].count("candidate.deleted") == 1
    assert not re.search(r"(?i)ada|lovelace|king|example\.com", repr(trail))
    assert {label for _, label, _ in trail} == {f"Candidate {str(candidate.pk)[:8]}"}


def test_a_recruiter_records_a_decision(recruiter_client, tenant_a):
    session = SessionFactory(tenant=tenant_a, status="completed")
    recruiter_client.post(
        reverse("admin:interviews_interviewsession_changelist"),
        {"action": "decide_advance", "_selected_action": [session.pk]},
    )
    with rls.tenant_context(tenant_a.pk):
        session = InterviewSession.objects.get(pk=session.pk)
        assert session.decision == "advance" and session.decided_by == recruiter_client.user
    # The decision, then the candidate's status following it.
    assert [a for a, _ in audit_actions(tenant_a)[-2:]] == ["session.decision", "candidate.changed"]


class _FormFields(HTMLParser):
    """The fields a browser would post from a page's change form."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("name"):
            if attrs.get("type") in ("submit", "checkbox") and "checked" not in attrs:
                return
            self.fields[attrs["name"]] = attrs.get("value") or ""


def test_a_decision_is_saved_on_a_long_interview(recruiter_client, tenant_a):
    """A long interview's transcript and timeline are shown, not posted back: saving a
    decision stays under the number of fields a request may carry."""
    session = SessionFactory(tenant=tenant_a, status="completed")
    TranscriptEntryFactory.create_batch(600, session=session)
    SessionEventFactory.create_batch(200, session=session)
    url = reverse("admin:interviews_interviewsession_change", args=[session.pk])
    page = recruiter_client.get(url)
    assert "I built a queue." in page.content.decode()
    parser = _FormFields()
    parser.feed(page.content.decode())
    form = {**parser.fields, "decision": "advance", "decision_note": "Strong."}
    response = recruiter_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:500]
    with rls.tenant_context(tenant_a.pk):
        assert InterviewSession.objects.get(pk=session.pk).decision == "advance"


def test_a_decision_made_on_the_sessions_page_moves_the_candidate_and_is_audited_truly(
    recruiter_client, tenant_a
):
    session = SessionFactory(tenant=tenant_a, status="completed", candidate__status="interviewed")
    url = reverse("admin:interviews_interviewsession_change", args=[session.pk])
    parser = _FormFields()
    parser.feed(recruiter_client.get(url).content.decode())
    response = recruiter_client.post(url, {**parser.fields, "decision": "advance"})
    assert response.status_code == 302, response.content.decode()[:500]
    with rls.tenant_context(tenant_a.pk):
        assert Candidate.objects.get(pk=session.candidate_id).status == "advanced"
        decision = AuditEvent.objects.get(action="session.decision")
    assert (decision.details["from"], decision.details["to"]) == ("", "advance")


def test_session_times_show_seconds_on_its_page_and_in_the_list(recruiter_client, tenant_a):
    """Django's English format says "8:09 a.m.": a session's steps are seconds apart."""
    session = SessionFactory(tenant=tenant_a, status="completed")
    started = datetime(2026, 12, 3, 8, 9, 41, tzinfo=UTC)
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(
            connecting_at=started - timedelta(seconds=3),
            started_at=started,
            last_heartbeat_at=started + timedelta(minutes=20, seconds=2),
            ended_at=started + timedelta(minutes=21, seconds=26),
        )
    page = recruiter_client.get(
        reverse("admin:interviews_interviewsession_change", args=[session.pk])
    ).content.decode()
    for shown in ("08:09:38", "08:09:41", "08:29:43", "08:31:07"):
        assert f"Dec. 3, 2026, {shown}" in page
    listing = recruiter_client.get(reverse("admin:interviews_interviewsession_changelist"))
    assert "Dec. 3, 2026, 08:09:41" in listing.content.decode()


def test_timeline_rows_show_seconds_and_time_into_the_interview(recruiter_client, tenant_a):
    session = SessionFactory(tenant=tenant_a, status="completed")
    connected = SessionEventFactory(session=session, kind="connected")  # append-only
    start = connected.created_at + timedelta(seconds=4)
    with rls.bypass_context():
        InterviewSession.objects.filter(pk=session.pk).update(
            started_at=start, ended_at=start + timedelta(hours=2)
        )
    page = recruiter_client.get(
        reverse("admin:interviews_interviewsession_change", args=[session.pk])
    ).content.decode()
    clock = timezone.localtime(connected.created_at).strftime("%H:%M:%S")
    assert f"<td>{clock}</td><td>-00:04</td><td>connected</td>" in page


def test_transcript_rows_show_where_the_speech_is_and_when_the_text_arrived(
    recruiter_client, tenant_a
):
    """Rows are in conversation order; a candidate's transcription can arrive after the
    interviewer's reply. No row claims a time into the interview from when its text arrived
    (it would run backwards); the candidate's speech shows its place in the call's audio."""
    session = SessionFactory(tenant=tenant_a, status="completed")
    start = timezone.now() - timedelta(hours=3)
    answer = TranscriptEntryFactory(
        session=session, seq=1, text="I built a queue.", started_ms=29_400, ended_ms=35_900
    )
    reply = TranscriptEntryFactory(session=session, seq=2, speaker="interviewer", text="Thanks.")
    long = TranscriptEntryFactory(
        session=session, seq=3, text="Finally.", started_ms=3_725_000, ended_ms=3_731_000
    )
    with rls.bypass_context():  # when each text arrived (created_at is stamped on insert)
        InterviewSession.objects.filter(pk=session.pk).update(started_at=start)
        for entry, seconds in ((answer, 36), (reply, 35), (long, 3732)):
            TranscriptEntry.objects.filter(pk=entry.pk).update(
                created_at=start + timedelta(seconds=seconds)
            )
    page = recruiter_client.get(
        reverse("admin:interviews_interviewsession_change", args=[session.pk])
    ).content.decode()

    def arrived(seconds):
        return timezone.localtime(start + timedelta(seconds=seconds)).strftime("%H:%M:%S")

    assert "<th>Speech in the call</th><th>Text arrived</th>" in page
    assert "Into interview</th><th>Speaker" not in page
    assert f"<td>1</td><td>00:29\u201300:35</td><td>{arrived(36)}</td><td>Candidate</td>" in page
    assert f"<td>2</td><td>-</td><td>{arrived(35)}</td><td>Interviewer</td>" in page
    assert f"<td>3</td><td>1:02:05\u20131:02:11</td><td>{arrived(3732)}</td>" in page


def test_templates_are_saved_with_their_questions_in_the_tenant(recruiter_client, tenant_a):
    response = recruiter_client.post(
        reverse("admin:interviews_interviewtemplate_add"),
        {
            "title": "Screen",
            "role": "Engineer",
            "instructions": "",
            "is_active": "on",
            "max_duration_minutes": 20,
            "language": "en",
            "voice": "marin",
            "model": "gpt-realtime",
            "transcription_model": "gpt-4o-transcribe",
            "turn_detection": '{"type": "semantic_vad", "eagerness": "low"}',
            "questions-TOTAL_FORMS": 1,
            "questions-INITIAL_FORMS": 0,
            "questions-0-position": 1,
            "questions-0-text": "Why us?",
            "questions-0-guidance": "",
            "criteria-TOTAL_FORMS": 1,
            "criteria-INITIAL_FORMS": 0,
            "criteria-0-position": 1,
            "criteria-0-name": "Clarity",
            "criteria-0-description": "",
            "criteria-0-weight": "2",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with rls.tenant_context(tenant_a.pk):
        from interviews.models import InterviewTemplate

        template = InterviewTemplate.objects.get()
        assert [q.text for q in template.questions.all()] == ["Why us?"]
        assert template.criteria.get().tenant_id == tenant_a.pk
        assert template.created_by == recruiter_client.user


def test_template_questions_and_criteria_are_audited_by_field_names(recruiter_client, tenant_a):
    template = TemplateFactory(tenant=tenant_a)
    question = QuestionFactory(template=template, position=1, text="Why us?")
    criterion = CriterionFactory(template=template, position=1, name="Clarity")
    response = recruiter_client.post(
        reverse("admin:interviews_interviewtemplate_change", args=[template.pk]),
        {
            "title": template.title,
            "role": template.role,
            "instructions": template.instructions,
            "is_active": "on",
            "max_duration_minutes": template.max_duration_minutes,
            "language": "en",
            "voice": "marin",
            "model": "gpt-realtime",
            "transcription_model": "gpt-4o-transcribe",
            "turn_detection": '{"type": "semantic_vad", "eagerness": "low"}',
            "questions-TOTAL_FORMS": 2,
            "questions-INITIAL_FORMS": 1,
            "questions-0-id": question.pk,
            "questions-0-template": template.pk,
            "questions-0-position": 1,
            "questions-0-text": "Why this team?",  # edited
            "questions-0-guidance": "",
            "questions-1-template": template.pk,
            "questions-1-position": 2,
            "questions-1-text": "A hard bug?",  # added
            "questions-1-guidance": "Root cause.",
            "criteria-TOTAL_FORMS": 1,
            "criteria-INITIAL_FORMS": 1,
            "criteria-0-id": criterion.pk,
            "criteria-0-template": template.pk,
            "criteria-0-position": 1,
            "criteria-0-name": "Clarity",
            "criteria-0-weight": "1",
            "criteria-0-DELETE": "on",  # deleted
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with rls.tenant_context(tenant_a.pk):
        added = template.questions.get(position=2)
        assert [q.text for q in template.questions.all()] == ["Why this team?", "A hard bug?"]
        assert not template.criteria.exists()
        events = list(
            AuditEvent.objects.filter(action__regex=r"^template\.(question|criterion)_")
            .order_by("action")  # one transaction: one created_at
            .values_list("action", "target_id", "details")
        )
    assert events == [
        ("template.criterion_deleted", str(template.pk), {"criterion": str(criterion.pk)}),
        (
            "template.question_added",
            str(template.pk),
            {"question": str(added.pk), "fields": ["guidance", "position", "text"]},
        ),
        (
            "template.question_changed",
            str(template.pk),
            {"question": str(question.pk), "fields": ["text"]},
        ),
    ]
    assert "Why this team?" not in str(events) and "A hard bug?" not in str(events)


def test_a_recruiter_cannot_point_at_another_tenants_template(recruiter_client, tenant_b):
    theirs = TemplateFactory(tenant=tenant_b)
    form = recruiter_client.get(reverse("admin:interviews_candidate_add")).content.decode()
    assert str(theirs.pk) not in form


def test_changing_a_candidates_email_unlinks_their_account(recruiter_client, tenant_a):
    from tests.factories import UserFactory

    candidate = CandidateFactory(tenant=tenant_a, user=UserFactory())
    recruiter_client.post(
        reverse("admin:interviews_candidate_change", args=[candidate.pk]),
        {
            "email": "new-address@example.com",
            "full_name": candidate.full_name,
            "external_id": candidate.external_id,
            "status": "new",
            **NO_INLINE_ROWS,
        },
    )
    with rls.tenant_context(tenant_a.pk):
        candidate.refresh_from_db()
    assert candidate.email == "new-address@example.com" and candidate.user is None
