"""Settings of the baseline server of ``scripts/benchmark api``: the platform's settings and
middleware, with a URLconf of bare DRF views (``benchmark_api.urlpatterns``)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmark_api"
