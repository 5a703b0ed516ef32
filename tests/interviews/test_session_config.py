"""The session configuration the server builds from a template."""

import pytest

from core import rls
from interviews import selectors
from tests.factories import CriterionFactory, TemplateFactory

pytestmark = pytest.mark.django_db


def tool(config, name):
    return next(t for t in config["tools"] if t["name"] == name)


def test_record_assessment_names_the_templates_rubric_criteria(tenant_a):
    template = TemplateFactory(tenant=tenant_a)
    for position, name in enumerate(["Debugging", "Communication", "Debugging"]):
        CriterionFactory(template=template, tenant=tenant_a, name=name, position=position)
    with rls.tenant_context(tenant_a.pk):
        config = selectors.template_realtime_config(template)
    criterion = tool(config, "record_assessment")["parameters"]["properties"]["criterion"]
    assert criterion == {"type": "string", "enum": ["Debugging", "Communication"]}


def test_without_a_rubric_any_criterion_may_be_named(tenant_a):
    template = TemplateFactory(tenant=tenant_a)
    with rls.tenant_context(tenant_a.pk):
        config = selectors.template_realtime_config(template)
    criterion = tool(config, "record_assessment")["parameters"]["properties"]["criterion"]
    assert criterion == {"type": "string"}
