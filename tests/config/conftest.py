from tests.support.summaries import upstream  # noqa: F401 (a fixture)
