"""fly.toml: every process group runs, is checked where Fly can check it, deploys one machine
at a time, and the release command is the one that checks before it migrates."""

import shlex
import tomllib
from pathlib import Path

from django.core.management import get_commands, load_command_class

FLY = tomllib.loads((Path(__file__).resolve().parents[2] / "fly.toml").read_text())


def _manage_args(group: str) -> tuple[str, list[str]]:
    """A ``python manage.py <command> ...`` process: its command and arguments."""
    argv = shlex.split(FLY["processes"][group])
    assert argv[:2] == ["python", "manage.py"]
    return argv[2], argv[3:]


def test_every_process_group_has_a_machine_size():
    sized = {group for vm in FLY["vm"] for group in vm["processes"]}
    assert sized == set(FLY["processes"]) == {"web", "worker", "beat", "realtime"}


def test_the_web_group_serves_http_with_a_health_check():
    service = FLY["http_service"]
    assert service["processes"] == ["web"]
    assert f"tcp:port={service['internal_port']}:" in FLY["processes"]["web"]
    [check] = service["checks"]
    assert check["path"] == "/healthz" and check["headers"]["X-Forwarded-Proto"] == "https"


def test_the_realtime_group_is_checked_on_the_port_its_worker_answers():
    check = FLY["checks"]["realtime"]
    assert check["processes"] == ["realtime"] and check["type"] == "http"
    command, args = _manage_args("realtime")
    parser = load_command_class("live", command).create_parser("manage.py", command)
    assert parser.parse_args(args).health_port == check["port"]


def test_deploys_replace_one_machine_at_a_time_and_never_run_two_beats():
    deploy = FLY["deploy"]
    # bluegreen (and canary) start new machines beside the old ones: a second beat.
    assert deploy["strategy"] == "rolling"
    assert deploy["max_unavailable"] == 1


def test_the_release_command_is_the_checked_migrate():
    argv = shlex.split(FLY["deploy"]["release_command"])
    assert argv == ["python", "manage.py", "release"]
    assert get_commands()["release"] == "tenants"


def test_the_deploy_checks_the_release_command_runs_pass_with_fly_tomls_environment():
    # What `release` runs first, with fly.toml's [env] and secrets like production's.
    from tests.config.test_settings import manage

    env = {key: str(value) for key, value in FLY["env"].items()}
    result = manage("check", "--deploy", "--database", "default", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
