"""A bounded, schema-driven fuzz run of the tenant API (schemathesis over the OpenAPI document
served at /api/schema/): for every operation, generated requests - valid and not - get no 5xx
and no answer that breaks the documented schema."""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import CandidateFactory, SessionFactory, TemplateFactory
from tests.tenant_api.support import make_client

pytestmark = pytest.mark.django_db

# The document /api/schema/ serves (the same generator), loaded once at collection.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()  # requests go in-process, through every middleware
schema = schema.include(path_regex=r"^/api/v1/(?!oauth/)")


@pytest.fixture
def caller(tenant_a, settings):
    settings.API_RATE = "100000/minute"
    cache.clear()
    candidate = CandidateFactory(tenant=tenant_a)
    TemplateFactory(tenant=tenant_a)
    SessionFactory(tenant=tenant_a, candidate=candidate, status="completed")
    caller = make_client(tenant_a).authorize()
    # Inside the test's transaction: as Django's test client does (and then undoes, so after
    # it), the database connection stays open from one request to the next.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield caller
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_5xx_and_no_answer_outside_the_schema(case, caller):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {caller.token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
