import pytest

from tests.tenant_api.support import make_client


@pytest.fixture
def acme_api(tenant_a):
    """An API client of tenant A with every scope."""
    return make_client(tenant_a)


@pytest.fixture
def globex_api(tenant_b):
    return make_client(tenant_b)
