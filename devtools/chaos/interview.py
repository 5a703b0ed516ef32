"""The interview each run holds: a tenant, a short template (two questions, one rubric
criterion), a candidate who consented, and a fresh session per run with the token the interview
page would be given. Written as the platform would have written them, under the raw RLS bypass
(this process is not the code under test)."""

from __future__ import annotations

import itertools
import secrets

QUESTIONS = (
    "What did you build most recently, and why?",
    "How do you make sure a system keeps working when one of its parts fails?",
)
CRITERION = ("Reliability", "Designs for failure.")

_numbers = itertools.count(1)


class Interviews:
    """The run's tenant, template and candidate; ``session()`` gives a new session."""

    def __init__(self):
        from django.contrib.auth import get_user_model

        from core import rls
        from interviews.models import (
            Candidate,
            Consent,
            InterviewTemplate,
            RubricCriterion,
            TemplateQuestion,
        )
        from tenants.models import Tenant

        suffix = secrets.token_hex(3)
        with rls.bypass_context():
            self.tenant = Tenant.objects.create(name="Chaos", slug=f"chaos-{suffix}")
            user = get_user_model().objects.create(
                username=f"candidate-{suffix}@example.com", email=f"candidate-{suffix}@example.com"
            )
            self.user_id = user.pk
            self.template = InterviewTemplate.objects.create(
                tenant=self.tenant,
                title="Reliability screen",
                role="Backend engineer",
                instructions="Be brief.",
                # The safety net a lost end_interview falls back on; short, for short runs.
                max_duration_minutes=2,
            )
            for position, text in enumerate(QUESTIONS, 1):
                TemplateQuestion.objects.create(
                    tenant=self.tenant, template=self.template, position=position, text=text
                )
            RubricCriterion.objects.create(
                tenant=self.tenant,
                template=self.template,
                position=1,
                name=CRITERION[0],
                description=CRITERION[1],
            )
            self.candidate = Candidate.objects.create(
                tenant=self.tenant,
                email=user.email,
                full_name="Chaos Candidate",
                user=user,
            )
            self.consent = Consent.objects.create(
                tenant=self.tenant, candidate=self.candidate, version="chaos", text="I agree."
            )

    def session(self) -> tuple[str, str]:
        """A new session in ``pending`` and its candidate token."""
        from core import rls
        from interviews import services
        from live.tokens import session_token_issue

        with rls.tenant_context(self.tenant.pk):
            session = services.session_create(
                candidate=self.candidate, template=self.template, consent=self.consent
            )
        token = session_token_issue(
            session_id=session.pk, user_id=self.user_id, tenant_id=self.tenant.pk
        )
        return str(session.pk), token
