import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from core import rls
from interviews.models import Candidate, InterviewTemplate
from invitations.models import InterviewInvitation
from tenants.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db


def test_create_tenant_provisions_the_owner_who_sets_a_password_from_the_email(
    capsys, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_tenant", "Initech", "--owner-email", "Boss@Initech.example")
    assert "boss@initech.example" in capsys.readouterr().out.lower()
    with rls.bypass_context():
        tenant = Tenant.objects.get(slug="initech")
        membership = Membership.objects.get(tenant=tenant)
    assert membership.role == Role.OWNER
    [email] = mailoutbox
    assert email.to == ["boss@initech.example"]
    link = re.search(r"https?://\S+/admin/setup/\S+", email.body).group(0)
    client = Client()
    form = client.get(urlsplit(link).path, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a long new passphrase 42", "new_password2": "a long new passphrase 42"},
    )
    assert done.status_code == 302 and done["Location"] == "/admin/login/"
    assert client.login(username="boss@initech.example", password="a long new passphrase 42")
    assert client.get("/admin/").wsgi_request.tenant == tenant
    # The link works once: the password it set retires it.
    assert not Client().get(urlsplit(link).path, follow=True).context["validlink"]


def test_create_tenant_refuses_a_taken_slug():
    call_command("create_tenant", "Initech", "--owner-email", "a@initech.example")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", "Initech", "--owner-email", "b@initech.example")


def test_seed_demo_is_idempotent_and_prints_working_credentials_and_link(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out.split("Demo data ready.")[-1]
    with rls.bypass_context():
        tenant = Tenant.objects.get(slug="demo")
        assert Candidate.objects.filter(tenant=tenant).count() == 3
        template = InterviewTemplate.objects.get(tenant=tenant)
        assert template.questions.count() == 4 and template.criteria.count() == 3
        open_invitations = InterviewInvitation.objects.filter(
            tenant=tenant, revoked_at__isnull=True
        )
        assert open_invitations.count() == 1

    login, password = re.search(r"recruiter login: (\S+) / (\S+)", out).groups()
    recruiter = Client()
    assert recruiter.login(username=login, password=password)
    page = recruiter.get("/admin/interviews/candidate/")
    assert page.status_code == 200 and "ada@candidates.example" in page.content.decode()

    link = re.search(r"Candidate invitation \(Ada Lovelace\): (\S+)", out).group(1)
    path = link.split("127.0.0.1:8000", 1)[1]
    page = Client().get(path)
    assert page.status_code == 200
    assert "Senior backend engineer" in page.content.decode()
    with rls.bypass_context():
        assert get_user_model().objects.filter(is_superuser=True).count() == 1
