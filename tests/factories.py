"""Factories. Tenant-owned rows are written under the raw RLS bypass (not the audited one):
test data is set up as the platform would have written it, while the code under test runs in
the tenant context its own request or task establishes."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from core import rls
from interviews.models import (
    Candidate,
    Consent,
    InterviewSession,
    InterviewTemplate,
    RubricCriterion,
    SessionEvent,
    SessionSummary,
    TemplateQuestion,
    TranscriptEntry,
    VideoSegment,
)
from invitations.models import AccommodationRequest, InterviewInvitation
from invitations.services import token_hash
from tenants.models import AuditEvent, Membership, Role, Tenant
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.signing import secret_generate


class BypassFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with rls.bypass_context():
            return super()._create(model_class, *args, **kwargs)


class UserFactory(BypassFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.django.Password("correct horse battery")


class TenantFactory(BypassFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class MembershipFactory(BypassFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory, is_staff=True)
    role = Role.RECRUITER


class CandidateFactory(BypassFactory):
    class Meta:
        model = Candidate

    tenant = factory.SubFactory(TenantFactory)
    email = factory.Sequence(lambda n: f"candidate{n}@example.com")
    full_name = factory.Faker("name")
    external_id = factory.Sequence(lambda n: f"ATS-{n}")


class TemplateFactory(BypassFactory):
    class Meta:
        model = InterviewTemplate

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Screen {n}")
    role = "Backend engineer"
    instructions = "Be kind."


class QuestionFactory(BypassFactory):
    class Meta:
        model = TemplateQuestion

    template = factory.SubFactory(TemplateFactory)
    tenant = factory.SelfAttribute("template.tenant")
    position = factory.Sequence(int)
    text = factory.Sequence(lambda n: f"Question {n}?")


class CriterionFactory(BypassFactory):
    class Meta:
        model = RubricCriterion

    template = factory.SubFactory(TemplateFactory)
    tenant = factory.SelfAttribute("template.tenant")
    position = factory.Sequence(int)
    name = factory.Sequence(lambda n: f"Criterion {n}")


class ConsentFactory(BypassFactory):
    class Meta:
        model = Consent

    candidate = factory.SubFactory(CandidateFactory)
    tenant = factory.SelfAttribute("candidate.tenant")
    version = "test"
    text = "I agree."


class SessionFactory(BypassFactory):
    class Meta:
        model = InterviewSession

    tenant = factory.SubFactory(TenantFactory)
    candidate = factory.SubFactory(CandidateFactory, tenant=factory.SelfAttribute("..tenant"))
    template = factory.SubFactory(TemplateFactory, tenant=factory.SelfAttribute("..tenant"))
    consent = factory.SubFactory(
        ConsentFactory,
        candidate=factory.SelfAttribute("..candidate"),
        tenant=factory.SelfAttribute("..tenant"),
    )


class TranscriptEntryFactory(BypassFactory):
    class Meta:
        model = TranscriptEntry

    session = factory.SubFactory(SessionFactory)
    tenant = factory.SelfAttribute("session.tenant")
    seq = factory.Sequence(int)
    speaker = "candidate"
    text = "I built a queue."
    provider_item_id = factory.Sequence(lambda n: f"item_{n}")


class VideoSegmentFactory(BypassFactory):
    class Meta:
        model = VideoSegment

    session = factory.SubFactory(SessionFactory)
    tenant = factory.SelfAttribute("session.tenant")
    provider_video_id = factory.Sequence(lambda n: f"vi{n}")


class SummaryFactory(BypassFactory):
    class Meta:
        model = SessionSummary

    session = factory.SubFactory(SessionFactory)
    tenant = factory.SelfAttribute("session.tenant")
    status = "ready"
    summary = "Solid."
    overall_rating = 4


class SessionEventFactory(BypassFactory):
    class Meta:
        model = SessionEvent

    session = factory.SubFactory(SessionFactory)
    tenant = factory.SelfAttribute("session.tenant")
    kind = "status_changed"


class InvitationFactory(BypassFactory):
    class Meta:
        model = InterviewInvitation
        exclude = ("token",)

    tenant = factory.SubFactory(TenantFactory)
    candidate = factory.SubFactory(CandidateFactory, tenant=factory.SelfAttribute("..tenant"))
    template = factory.SubFactory(TemplateFactory, tenant=factory.SelfAttribute("..tenant"))
    token = factory.Sequence(lambda n: f"token-{n}-" + "x" * 30)
    token_hash = factory.LazyAttribute(lambda o: token_hash(o.token))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class AuditEventFactory(BypassFactory):
    class Meta:
        model = AuditEvent

    tenant = factory.SubFactory(TenantFactory)
    action = "candidate.changed"
    target_repr = "someone"


class AccommodationRequestFactory(BypassFactory):
    class Meta:
        model = AccommodationRequest

    invitation = factory.SubFactory(InvitationFactory)
    tenant = factory.SelfAttribute("invitation.tenant")
    candidate = factory.SelfAttribute("invitation.candidate")
    message = "Could I type my answers?"


class ApiClientFactory(BypassFactory):
    class Meta:
        model = "tenant_api.ApiClient"

    tenant = factory.SubFactory(TenantFactory)
    name = "ATS"
    client_id = factory.Sequence(lambda n: f"cl_test{n}")
    secret_hash = "0" * 64
    scopes = factory.LazyFunction(lambda: ["candidates:read"])


class WebhookEndpointFactory(BypassFactory):
    class Meta:
        model = WebhookEndpoint

    tenant = factory.SubFactory(TenantFactory)
    url = "http://127.0.0.1:9/hooks"
    events = factory.LazyFunction(lambda: ["decision.recorded"])
    secret = factory.LazyFunction(secret_generate)


class WebhookDeliveryFactory(BypassFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    tenant = factory.SelfAttribute("endpoint.tenant")
    event_type = "decision.recorded"
    message_id = factory.Sequence(lambda n: f"msg_test{n}")
    payload = factory.LazyFunction(lambda: {"type": "decision.recorded", "data": {}})
    next_attempt_at = factory.LazyFunction(timezone.now)
