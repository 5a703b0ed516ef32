"""Demo data for the run command: idempotent, safe to run at every start."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management.base import BaseCommand
from django.db import transaction

from core import rls
from interviews.models import Candidate, InterviewTemplate, RubricCriterion, TemplateQuestion
from interviews.services import candidate_create, template_save
from invitations.models import InterviewInvitation
from invitations.services import (
    invitation_deliver,
    invitation_issue,
    invitation_link,
    invitation_revoke,
)
from tenants.models import Membership, Role, Tenant
from tenants.services import membership_add, system_bypass, tenant_create

User = get_user_model()

TENANT_SLUG = "demo"
OWNER_EMAIL = "owner@demo.example"
RECRUITER_EMAIL = "recruiter@demo.example"
OPERATOR_EMAIL = "operator@platform.example"
CANDIDATES = [
    ("ada@candidates.example", "Ada Lovelace", "ATS-1001"),
    ("grace@candidates.example", "Grace Hopper", "ATS-1002"),
    ("alan@candidates.example", "Alan Turing", "ATS-1003"),
]
QUESTIONS = [
    (
        "Tell me about a backend system you built that you are proud of.",
        "Ownership, scale, trade-offs they made.",
    ),
    (
        "How would you design an API that must never lose a write?",
        "Transactions, idempotency keys, retries, at-least-once delivery.",
    ),
    (
        "Describe a production incident you debugged. What did you change afterwards?",
        "Method, communication, follow-up that prevents recurrence.",
    ),
    (
        "What do you look for when reviewing a colleague's code?",
        "Correctness, readability, tests, kindness.",
    ),
]
CRITERIA = [
    ("System design", "Reasons about data, failure and scale.", 3),
    ("Debugging", "Forms hypotheses and verifies them.", 2),
    ("Communication", "Clear, structured, honest about gaps.", 1),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenant, logins, template, candidates and an invitation."

    @transaction.atomic
    def handle(self, *args, **options):
        with system_bypass(reason="seed_demo"):
            tenant = Tenant.objects.filter(slug=TENANT_SLUG).first() or tenant_create(
                name="Demo Company", slug=TENANT_SLUG, owner_email=OWNER_EMAIL
            )
        with rls.tenant_context(tenant.pk):
            owner = User.objects.get(email=OWNER_EMAIL)
            if not Membership.objects.filter(tenant=tenant, user__email=RECRUITER_EMAIL).exists():
                membership_add(
                    tenant=tenant,
                    email=RECRUITER_EMAIL,
                    role=Role.RECRUITER,
                    actor=owner,
                    actor_membership=None,
                )
            template = self._template(tenant, owner)
            for email, name, external_id in CANDIDATES:
                if not Candidate.objects.filter(tenant=tenant, email=email).exists():
                    candidate_create(
                        tenant=tenant,
                        email=email,
                        full_name=name,
                        external_id=external_id,
                        actor=owner,
                    )
            candidate = Candidate.objects.get(tenant=tenant, email=CANDIDATES[0][0])
            for old in InterviewInvitation.objects.filter(
                candidate=candidate, accepted_at__isnull=True, revoked_at__isnull=True
            ):
                invitation_revoke(invitation=old, actor=owner)
            invitation = invitation_issue(
                candidate=candidate, template=template, actor=owner, send=False
            )
        # Delivered here rather than by the worker, so the link can be printed below; kept in
        # memory rather than sent (to the console, or to a real inbox) and summarised instead.
        outbox = mail.get_connection("django.core.mail.backends.locmem.EmailBackend")
        token = invitation_deliver(
            invitation_id=invitation.pk, tenant_id=tenant.pk, email_connection=outbox
        )
        letter = mail.outbox[-1]

        logins = [(RECRUITER_EMAIL, "recruiter"), (OWNER_EMAIL, "owner")]
        with rls.identity_lookup_context():
            passwords = {email: self._reset_password(email) for email, _ in logins}
            operator_password = self._operator()
        console = f"{settings.SITE_URL}/admin/"
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Recruiter console: {console}")
        for email, role in logins:
            self.stdout.write(f"    {role:9} login: {email} / {passwords[email]}")
        self.stdout.write(
            f"    operator  login: {OPERATOR_EMAIL} / {operator_password}  (all tenants, audited)"
        )
        self.stdout.write(f"  Candidate invitation ({CANDIDATES[0][1]}): {invitation_link(token)}")
        self.stdout.write(
            f'    the email it came in (not sent): to {letter.to[0]}, "{letter.subject}"'
        )
        self.stdout.write(
            f"  Watch it live (signed in as the recruiter): "
            f"{console}interviews/interviewsession/live/"
        )

    def _template(self, tenant, owner) -> InterviewTemplate:
        template = InterviewTemplate.objects.filter(tenant=tenant, title="Backend engineer screen")
        if template.exists():
            return template.get()
        template = InterviewTemplate(
            tenant=tenant,
            title="Backend engineer screen",
            role="Senior backend engineer",
            instructions="You are a friendly, concise interviewer. Ask one question at a time, "
            "follow up once when an answer is vague, and never give feedback on performance.",
            max_duration_minutes=20,
        )
        template_save(template=template, actor=owner)
        for position, (text, guidance) in enumerate(QUESTIONS, start=1):
            TemplateQuestion.objects.create(
                tenant=tenant, template=template, position=position, text=text, guidance=guidance
            )
        for position, (name, description, weight) in enumerate(CRITERIA, start=1):
            RubricCriterion.objects.create(
                tenant=tenant,
                template=template,
                position=position,
                name=name,
                description=description,
                weight=weight,
            )
        return template

    def _reset_password(self, email: str) -> str:
        # A new random password at every run: the demo never ships a known credential.
        password = secrets.token_urlsafe(9)
        user = User.objects.get(email=email)
        user.set_password(password)
        user.save(update_fields=["password"])
        return password

    def _operator(self) -> str:
        user = User.objects.filter(email=OPERATOR_EMAIL).first() or User(
            username=OPERATOR_EMAIL, email=OPERATOR_EMAIL
        )
        user.is_staff = user.is_superuser = True
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.save()
        return password
