"""Production mode refuses insecure defaults and passes Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "k" * 20 + "a-very-long-random-production-secret-key-0123456789",
    "ALLOWED_HOSTS": "interviews.example.com",
    "DEBUG": "false",
    "EMAIL_URL": "smtp+tls://user:pw@smtp.example.com:587",
}


def manage(*args, **overrides):
    dropped = {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(GOOD)
    env.update(overrides)
    env = {k: v for k, v in env.items() if v is not None}  # None: leave the variable unset
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE, env=env, capture_output=True, text=True
    )


def test_check_deploy_is_clean_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "override,reason",
    [
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"SECRET_KEY": None}, "SECRET_KEY is the default"),
        ({"SECRET_KEY": "short"}, "shorter than 50 characters"),
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS is empty or a wildcard"),
        ({"EMAIL_URL": None}, "email is not delivered"),
        ({"EMAIL_URL": "consolemail://"}, "email is not delivered"),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
            "email is not delivered",
        ),
    ],
)
def test_production_refuses_insecure_defaults(override, reason):
    result = manage("check", **override)
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stderr
    assert reason in result.stderr


def test_the_database_check_flags_a_role_that_bypasses_rls():
    admin_url = os.environ["TEST_DATABASE_ADMIN_URL"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--database", "default"],
        cwd=BASE,
        env={**os.environ, "DATABASE_URL": admin_url},
        capture_output=True,
        text=True,
    )
    assert "tenants.E001" in result.stderr + result.stdout


@pytest.mark.parametrize(
    "env,backend",
    [
        ({"EMAIL_URL": None}, "django.core.mail.backends.console.EmailBackend"),
        (
            {"EMAIL_URL": "smtp+tls://user:pw@smtp.example.com:587"},
            "django.core.mail.backends.smtp.EmailBackend",
        ),
        (
            {"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend", "ANYMAIL_API_KEY": "k"},
            "anymail.backends.postmark.EmailBackend",
        ),
    ],
)
def test_email_backend_is_chosen_by_settings(env, backend):
    code = (
        "from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
    )
    result = manage("shell", "-c", code, DJANGO_ENV="development", DEBUG="false", **env)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()[-1].split()
    assert printed[0] == backend
    if env.get("EMAIL_URL"):
        assert printed[1:] == ["smtp.example.com", "587", "True"]


ARCHIVE_PROBE = (
    "from django.core.files.storage import storages; s = storages['archive']; "
    "print(type(s).__name__, getattr(s, 'bucket_name', s.location), "
    "getattr(s, 'location', ''), getattr(s, 'endpoint_url', ''))"
)


def test_session_archives_go_to_a_local_folder_by_default(tmp_path):
    result = manage(
        "shell", "--no-imports", "-c", ARCHIVE_PROBE, ARCHIVE_ROOT=str(tmp_path / "archive")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["FileSystemStorage", str(tmp_path / "archive")]


def test_session_archives_go_to_an_s3_compatible_bucket_when_one_is_named():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        ARCHIVE_PROBE,
        ARCHIVE_S3_BUCKET="interview-archive",
        ARCHIVE_S3_PREFIX="/prod/",
        ARCHIVE_S3_ENDPOINT_URL="https://s3.example.com",
        ARCHIVE_S3_ACCESS_KEY_ID="key",
        ARCHIVE_S3_SECRET_ACCESS_KEY="secret",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage",
        "interview-archive",
        "prod",
        "https://s3.example.com",
    ]


@pytest.mark.parametrize("days", ["30", "182"])
def test_audit_events_cannot_be_set_to_go_before_six_months(days):
    result = manage("check", AUDIT_RETENTION_DAYS=days)
    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS must be 0 (keep) or at least 183 days" in result.stderr


def test_production_refuses_webhooks_to_private_addresses_unless_told_twice():
    result = manage("check", WEBHOOKS_ALLOW_PRIVATE="true")
    assert result.returncode != 0
    assert "WEBHOOKS_ALLOW_PRIVATE is on in production" in result.stderr
    told = manage("check", WEBHOOKS_ALLOW_PRIVATE="true", WEBHOOKS_ALLOW_PRIVATE_IN_PRODUCTION="1")
    assert told.returncode == 0, told.stderr


def test_webhook_endpoints_must_be_public_in_production_by_default():
    result = manage(
        "shell", "-c", "from django.conf import settings; print(settings.WEBHOOKS_ALLOW_PRIVATE)"
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
