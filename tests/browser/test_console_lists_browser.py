"""The console's lists show the columns a recruiter decides from at a common laptop width
(1280x800), without scrolling sideways, with realistic long names and addresses."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tenants.models import Role
from tests.browser.conftest import snap
from tests.factories import (
    AuditEventFactory,
    CandidateFactory,
    InvitationFactory,
    MembershipFactory,
    SessionFactory,
    SummaryFactory,
    TemplateFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH, HEIGHT = 1280, 800

NAMES = [
    "Maximilian Alexander Featherstonehaugh-Worthington",
    "Anna-Katharina Oyelaran-Vasquez de la Fuente",
    "Siddharth Venkataraman Subramanian",
]


def realistic_data(tenant):
    recruiter = UserFactory(
        is_staff=True,
        first_name="Henrietta",
        last_name="Montgomery-Whitfield",
        email="henrietta.montgomery-whitfield@talent-acquisition.example.com",
    )
    MembershipFactory(tenant=tenant, user=recruiter, role=Role.RECRUITER)
    template = TemplateFactory(
        tenant=tenant,
        title="Senior Backend Engineer, Payments Platform (Remote, EMEA)",
        role="Senior Backend Engineer, Payments Platform",
    )
    started = timezone.now() - timedelta(days=1)
    for n, name in enumerate(NAMES):
        email = f"{name.lower().replace(' ', '.')}@recruiting-partners-international.example.com"
        candidate = CandidateFactory(
            tenant=tenant, full_name=name, email=email, external_id=f"GREENHOUSE-{n:08d}"
        )
        session = SessionFactory(
            tenant=tenant,
            candidate=candidate,
            template=template,
            status="completed",
            started_at=started,
            ended_at=started + timedelta(minutes=27, seconds=41),
            decision="advance",
            decided_by=recruiter,
        )
        SummaryFactory(session=session, overall_rating=4.5)
        InvitationFactory(
            tenant=tenant, candidate=candidate, template=template, created_by=recruiter
        )
        AuditEventFactory(
            tenant=tenant,
            actor=recruiter,
            actor_label=recruiter.email,
            action="invitation.issued",
            target_type="invitations.interviewinvitation",
            target_repr=f"Invitation {n:08d}",
            ip="2001:db8:85a3:0000:0000:8a2e:0370:7334",
        )
    return recruiter


def signed_in_page(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return context, context.new_page()


LISTS = {
    "interviews/interviewsession": (
        "Interview sessions",
        ["person", "template", "status", "started_at", "duration", "rating", "decision"],
    ),
    "interviews/candidate": ("Candidates", ["email", "full_name", "status"]),
    "invitations/interviewinvitation": (
        "Invitations",
        ["person", "template", "status", "expires_at"],
    ),
    "tenants/auditevent": ("Audit trail", ["created_at", "actor_label", "action", "target_repr"]),
}


@pytest.mark.parametrize("path", list(LISTS))
def test_the_key_columns_are_visible_at_1280_pixels(browser, live_server, tenant_a, path):
    recruiter = realistic_data(tenant_a)
    context, page = signed_in_page(browser, live_server, recruiter)
    try:
        page.goto(f"{live_server.url}/admin/{path}/")
        _, columns = LISTS[path]
        assert page.locator("#result_list tbody tr").count() == 3
        snap(page, f"console-list-1280-{path.replace('/', '-')}")
        overflow = page.evaluate(
            """() => {
                const results = document.querySelector('#changelist .results');
                return {
                    page: document.documentElement.scrollWidth - window.innerWidth,
                    table: results.scrollWidth - results.clientWidth,
                };
            }"""
        )
        assert overflow == {"page": 0, "table": 0}, overflow
        for column in columns:
            header = page.locator(f"#result_list thead th.column-{column}")
            box = header.bounding_box()
            assert box is not None, column
            assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (column, box)
    finally:
        context.close()
