import pytest

from tests.provisioning.support import make_operator


@pytest.fixture
def operator_api():
    return make_operator()
