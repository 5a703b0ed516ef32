"""Test database set-up and shared fixtures.

`scripts/test` creates a fresh database owned by the schema-owner role and points
DATABASE_URL at the separate, non-superuser application role. Here we migrate it as the owner
(tenants' migrate command) and then run every test as the application role, so row-level
security applies exactly as in production.
"""

import logging

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from live.provider import UnclosedClientNoise
from tenants.models import Role

from .factories import MembershipFactory, TenantFactory, UserFactory
from .support.apivideo import apivideo  # noqa: F401 (the api.video fake, a fixture)
from .support.flush import retry_flush_on_deadlock

# Django's test client runs each async view on an event loop of its own, so the provider's
# per-loop HTTP client outlives its loop (under daphne there is one loop per process).
logging.getLogger("asyncio").addFilter(UnclosedClientNoise())
retry_flush_on_deadlock()


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    name = settings.DATABASES["default"]["NAME"]
    if not name.startswith("interview_test"):
        pytest.exit(f"Refusing to run tests against database {name!r}; use scripts/test.")
    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0)
    # Transactional tests end with a TRUNCATE of every table; only the test database grants it.
    app_role = settings.DATABASES["default"]["USER"]
    with psycopg.connect(_libpq_url(settings.DATABASE_OWNER_URL), autocommit=True) as conn:
        conn.execute(f'GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO "{app_role}"')


def _libpq_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


@pytest.fixture
def tenant_a():
    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def tenant_b():
    return TenantFactory(name="Globex", slug="globex")


def console_client(tenant, role: str) -> Client:
    """A logged-in console client for a member of ``tenant`` with ``role``."""
    user = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant, user=user, role=role)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def recruiter_client(tenant_a):
    return console_client(tenant_a, Role.RECRUITER)


@pytest.fixture
def operator_client():
    user = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture(autouse=True)
def _fresh_cache_and_eager_tasks(request):
    """Each test starts with an empty cache (rate-limit counters live there) and runs Celery
    tasks inline, unless it is a worker test that starts a real worker."""
    from django.core.cache import cache

    from config.celery import app

    cache.clear()
    eager = "celery_worker_test" not in request.keywords
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def archive_dir(tmp_path, settings):
    """Session archives (privacy.archive) go to a folder of the test's own."""
    folder = tmp_path / "archive"
    settings.STORAGES = {
        **settings.STORAGES,
        "archive": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": folder, "base_url": None},
        },
    }
    return folder


@pytest.fixture(autouse=True)
def _summaries_only_where_asked(request, settings):
    """A session that ends asks for an AI summary, which calls OPENAI_BASE_URL: only in the
    tests about summaries (marker ``summaries``), each of which serves that endpoint."""
    if "summaries" not in request.keywords:
        settings.SUMMARIES_ENABLED = False
