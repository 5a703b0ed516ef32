"""A template can require video: the setting is on the template's page in the console."""

import pytest
from django.urls import reverse

from tests.factories import TemplateFactory

pytestmark = pytest.mark.django_db


def test_the_template_page_shows_whether_video_is_required(recruiter_client, tenant_a):
    template = TemplateFactory(tenant=tenant_a)
    assert template.video_required is False  # optional unless the template says otherwise
    url = reverse("admin:interviews_interviewtemplate_change", args=[template.pk])
    html = recruiter_client.get(url).content.decode()
    assert 'name="video_required"' in html
    assert "The candidate cannot start without a working camera." in html
