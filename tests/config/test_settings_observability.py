"""The metrics and error-tracking settings as production reads them (fly.toml's [env])."""

import tomllib

from tests.config.test_settings import BASE, manage


def fly_env() -> dict:
    with open(BASE / "fly.toml", "rb") as file:
        return tomllib.load(file)["env"]


def test_production_with_flys_metrics_settings_and_sentry_passes_the_deploy_checks(tmp_path):
    env = {
        **fly_env(),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "SENTRY_DSN": "http://public@127.0.0.1:9/1",
        "METRICS_TOKEN": "t" * 40,
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fly_scrapes_every_group_with_metrics_on_the_port_they_serve():
    with open(BASE / "fly.toml", "rb") as file:
        config = tomllib.load(file)
    [metrics] = config["metrics"]
    assert metrics["port"] == int(config["env"]["METRICS_PORT"])
    assert metrics["path"] == "/metrics"
    assert set(metrics["processes"]) == {"web", "worker", "realtime"}
    # Never a public service: no service of the app listens on the metrics port.
    services = [config.get("http_service", {}), *config.get("services", [])]
    assert all(service.get("internal_port") != metrics["port"] for service in services)


def test_a_short_metrics_token_is_refused():
    result = manage("check", METRICS_TOKEN="short")
    assert result.returncode != 0
    assert "METRICS_TOKEN must be at least 32 characters" in result.stderr
