"""Recruiters invite, resend, revoke, expire and import from the console; all of it audited."""

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core import rls
from interviews.models import Candidate
from invitations.models import InterviewInvitation
from tenants.models import AuditEvent
from tests.factories import CandidateFactory, InvitationFactory, TemplateFactory

pytestmark = pytest.mark.django_db


def actions(tenant):
    with rls.tenant_context(tenant.pk):
        return list(AuditEvent.objects.order_by("created_at").values_list("action", flat=True))


def test_invite_action_asks_for_a_template_then_emails_each_candidate(
    recruiter_client, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    ada, bob = (
        CandidateFactory(tenant=tenant_a, email="ada@example.com"),
        CandidateFactory(tenant=tenant_a, email="bob@example.com"),
    )
    template = TemplateFactory(tenant=tenant_a, role="Data engineer")
    theirs = TemplateFactory(tenant=tenant_b, title="Their template")
    changelist = reverse("admin:interviews_candidate_changelist")
    selection = {"action": "invite", "_selected_action": [ada.pk, bob.pk]}

    page = recruiter_client.post(changelist, selection)
    assert page.status_code == 200
    body = page.content.decode()
    assert template.title in body and theirs.title not in body

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = recruiter_client.post(
            changelist, {**selection, "apply": "1", "template": template.pk}
        )
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.com"]
    message = mail.outbox[0]
    html = message.alternatives[0][0]
    for text in (tenant_a.name, "Data engineer", "AI interviewer", "recorded", "/i/"):
        assert text in message.body and text in html
    with rls.tenant_context(tenant_a.pk):
        invitations = InterviewInvitation.objects.all()
        assert {i.status for i in invitations} == {"sent"}
        assert set(Candidate.objects.values_list("status", flat=True)) == {"invited"}
    assert actions(tenant_a).count("invitation.issued") == 2


def test_the_invite_form_preselects_the_tenants_only_active_template(
    recruiter_client, tenant_a, tenant_b
):
    candidate = CandidateFactory(tenant=tenant_a)
    template = TemplateFactory(tenant=tenant_a)
    TemplateFactory(tenant=tenant_a, is_active=False)
    TemplateFactory(tenant=tenant_b)
    selection = {"action": "invite", "_selected_action": [candidate.pk]}
    changelist = reverse("admin:interviews_candidate_changelist")
    page = recruiter_client.post(changelist, selection).content.decode()
    assert f'<option value="{template.pk}" selected>' in page

    TemplateFactory(tenant=tenant_a)  # with two to choose from, the recruiter chooses
    page = recruiter_client.post(changelist, selection).content.decode()
    choices = page.split('name="template"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)" selected>', choices) == [""]


def test_inviting_with_another_tenants_template_is_refused(recruiter_client, tenant_a, tenant_b):
    candidate = CandidateFactory(tenant=tenant_a)
    theirs = TemplateFactory(tenant=tenant_b)
    response = recruiter_client.post(
        reverse("admin:interviews_candidate_changelist"),
        {
            "action": "invite",
            "_selected_action": [candidate.pk],
            "apply": "1",
            "template": theirs.pk,
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    with rls.bypass_context():
        assert not InterviewInvitation.objects.exists()


def test_a_refused_invitation_shows_the_reason_beside_the_template(
    operator_client, tenant_a, tenant_b
):
    # An operator sees every tenant's templates, so may pick one the candidates are not in.
    ours, theirs = CandidateFactory(tenant=tenant_a), CandidateFactory(tenant=tenant_b)
    template = TemplateFactory(tenant=tenant_b, title="Globex screen")
    response = operator_client.post(
        reverse("admin:interviews_candidate_changelist"),
        {
            "action": "invite",
            "_selected_action": [theirs.pk, ours.pk],
            "apply": "1",
            "template": template.pk,
        },
    )
    assert response.status_code == 200  # the invite form again, with the reason
    page = response.content.decode()
    assert re.search(
        r'<ul class="errorlist"[^>]*><li>Interview template belongs to another organisation.'
        r"</li></ul>\s*<p>\s*<label for=\"id_template\">",
        page,
    ), page
    assert f'<option value="{template.pk}" selected>' in page
    with rls.bypass_context():
        assert not InterviewInvitation.objects.exists()  # not even the one that was allowed


def test_resend_revoke_and_expire_actions(
    recruiter_client, tenant_a, django_capture_on_commit_callbacks
):
    resend, revoke, expire = InvitationFactory.create_batch(3, tenant=tenant_a)
    changelist = reverse("admin:invitations_interviewinvitation_changelist")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recruiter_client.post(changelist, {"action": "resend", "_selected_action": [resend.pk]})
    recruiter_client.post(changelist, {"action": "revoke", "_selected_action": [revoke.pk]})
    recruiter_client.post(changelist, {"action": "expire", "_selected_action": [expire.pk]})
    assert len(mail.outbox) == 1
    with rls.tenant_context(tenant_a.pk):
        statuses = {i.pk: i.status for i in InterviewInvitation.objects.all()}
    assert statuses == {resend.pk: "sent", revoke.pk: "revoked", expire.pk: "expired"}
    assert {"invitation.resent", "invitation.revoked", "invitation.expired"} <= set(
        actions(tenant_a)
    )
    page = recruiter_client.get(changelist).content.decode()
    assert "Revoked" in page and "Expired" in page and "Sent" in page


def test_a_failed_send_is_recorded_and_shown(recruiter_client, tenant_a, settings):
    settings.EMAIL_BACKEND = "tests.support.email.FailingEmailBackend"
    invitation = InvitationFactory(tenant=tenant_a)
    from invitations.services import invitation_deliver

    with pytest.raises(ConnectionRefusedError):
        invitation_deliver(invitation_id=invitation.pk, tenant_id=tenant_a.pk)
    with rls.tenant_context(tenant_a.pk):
        invitation.refresh_from_db()
    assert invitation.status == "failed" and "refused" in invitation.last_send_error
    assert invitation.send_count == 0
    page = recruiter_client.get(reverse("admin:invitations_interviewinvitation_changelist"))
    assert "Sending failed" in page.content.decode()


def test_the_delivery_task_retries_with_backoff():
    from invitations.tasks import deliver_invitation

    assert deliver_invitation.autoretry_for == (Exception,)
    assert deliver_invitation.retry_backoff and deliver_invitation.retry_jitter
    assert deliver_invitation.max_retries >= 3


CSV = (
    "email,name,external_id\n"
    "new@example.com,New Person,ATS-1\n"
    "EXISTING@example.com,Renamed,\n"
    "not-an-email,Someone,\n"
    "new@example.com,Twice,\n"
    "taken@example.com,Clash,ATS-9\n"
)


def test_csv_import_reports_every_row(recruiter_client, tenant_a):
    CandidateFactory(tenant=tenant_a, email="existing@example.com", full_name="Old", external_id="")
    CandidateFactory(tenant=tenant_a, email="owner9@example.com", external_id="ATS-9")
    upload = SimpleUploadedFile("people.csv", CSV.encode(), content_type="text/csv")
    response = recruiter_client.post(reverse("admin:interviews_candidate_import"), {"file": upload})
    assert response.status_code == 200
    report = {(r.line, r.outcome, r.reason) for r in response.context["report"].rows}
    assert report == {
        (2, "created", ""),
        (3, "updated", ""),
        (4, "rejected", "not a valid email address"),
        (5, "rejected", "email repeated in the file"),
        (6, "rejected", "A candidate with this external id already exists."),
    }
    with rls.tenant_context(tenant_a.pk):
        assert Candidate.objects.get(email="existing@example.com").full_name == "Renamed"
        assert not Candidate.objects.filter(email="taken@example.com").exists()
    assert "candidates.imported" in actions(tenant_a)


@pytest.mark.parametrize(
    "content,error",
    [
        (b"name\nAda\n", "including &quot;email&quot;"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"", "empty"),
        (b"email,name\nada@example.com,Ada\nbob@example.com,B\x00b\n", "NUL characters"),
        (
            b"email,name\nada@example.com,Ada\nbob@example.com," + b"b" * 1024 * 1024 + b"\n",
            "Line 3 cannot be read as CSV (field larger than field limit",
        ),
    ],
    ids=["no-email-column", "not-utf8", "empty", "nul-byte", "1mb-field"],
)
def test_csv_import_refuses_bad_files_whole(recruiter_client, tenant_a, content, error):
    upload = SimpleUploadedFile("bad.csv", content, content_type="text/csv")
    response = recruiter_client.post(reverse("admin:interviews_candidate_import"), {"file": upload})
    assert response.status_code == 400
    assert error in response.content.decode()
    with rls.tenant_context(tenant_a.pk):
        assert not Candidate.objects.exists()


def test_csv_import_caps_the_size(recruiter_client, tenant_a):
    big = b"email\n" + b"x@example.com\n" * 200_000
    upload = SimpleUploadedFile("big.csv", big, content_type="text/csv")
    response = recruiter_client.post(reverse("admin:interviews_candidate_import"), {"file": upload})
    assert response.status_code == 400 and "larger than 2 MB" in response.content.decode()


def test_viewers_cannot_import_or_invite(tenant_a):
    from tenants.models import Role
    from tests.conftest import console_client

    viewer = console_client(tenant_a, Role.VIEWER)
    assert viewer.get(reverse("admin:interviews_candidate_import")).status_code == 403
    candidate = CandidateFactory(tenant=tenant_a)
    viewer.post(
        reverse("admin:interviews_candidate_changelist"),
        {"action": "invite", "_selected_action": [candidate.pk]},
    )
    with rls.bypass_context():
        assert not InterviewInvitation.objects.exists()
