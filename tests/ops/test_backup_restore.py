"""scripts/backup and scripts/restore, as docs/operations.md runs them: a seeded database is
backed up, restored into a fresh one, and the restored copy has every row, the row-level
security wall and the append-only audit trail."""

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from core import rls
from tests.factories import (
    AuditEventFactory,
    CandidateFactory,
    SessionEventFactory,
    SessionFactory,
    TenantFactory,
    TranscriptEntryFactory,
)
from tests.support.databases import BASE_DIR, libpq_url, scratch_database

pytestmark = pytest.mark.django_db(transaction=True)


def _run(script: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BASE_DIR / "scripts" / script), *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )


def _seed():
    tenants = [TenantFactory(), TenantFactory()]
    for count, tenant in enumerate(tenants, start=2):
        for _ in range(count):
            session = SessionFactory(tenant=tenant)
            TranscriptEntryFactory.create_batch(3, session=session)
            SessionEventFactory(session=session)
        CandidateFactory(tenant=tenant)  # one not interviewed yet
        AuditEventFactory.create_batch(count, tenant=tenant)
    return tenants


def _checksums(conn) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows (as a superuser: no RLS)."""
    tables = conn.execute(
        "SELECT schemaname || '.' || tablename FROM pg_tables "
        "WHERE schemaname IN ('public', 'rls_private') ORDER BY 1"
    ).fetchall()
    return {
        table: conn.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "  # noqa: S608
            f"FROM {table} t"
        ).fetchone()
        for (table,) in tables
    }


def test_a_backup_restores_into_a_fresh_database_with_its_data_and_its_wall(tmp_path):
    acme, globex = _seed()
    admin_url = os.environ["TEST_DATABASE_ADMIN_URL"]
    source = settings.DATABASES["default"]["NAME"]

    backup = _run("backup", "-o", str(tmp_path / "backups"), env=dict(os.environ))
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip().splitlines()[-1])
    roles = dump.with_name(dump.name.replace(".dump", ".roles.sql"))
    assert dump.is_file() and roles.is_file()
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    assert "CREATE ROLE interview_owner" in roles.read_text()
    assert "ALTER ROLE interview_app WITH LOGIN NOSUPERUSER NOBYPASSRLS" in roles.read_text()
    listing = subprocess.run(
        [_pg_restore(), "--list", str(dump)], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE DATA public tenants_auditevent" in listing
    assert "TABLE DATA rls_private signing_key" not in listing  # derived from SECRET_KEY

    with scratch_database("restored") as target:
        env = target.env(RESTORE_ADMIN_URL=admin_url)
        restored = _run("restore", str(dump), env=env)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        assert "Release checks passed" in restored.stdout

        with psycopg.connect(libpq_url(admin_url, dbname=source)) as conn:
            before = _checksums(conn)
        with target.admin() as conn:
            after = _checksums(conn)
        assert after == before
        assert before["public.interviews_transcriptentry"][0] == 3 * (2 + 3)
        assert before["public.tenants_auditevent"][0] >= 5
        assert before["rls_private.signing_key"][0] == 1  # installed again by the restore

        # The application role: nothing without a tenant, its tenant's rows with one.
        with psycopg.connect(libpq_url(target.app_url), autocommit=True) as app:
            assert app.execute("SELECT count(*) FROM interviews_candidate").fetchone() == (0,)
            assert app.execute("SELECT count(*) FROM tenants_tenant").fetchone() == (0,)
            identity = app.execute(rls.CONNECTION_IDENTITY_SQL).fetchone()[0]
            signed = rls.sign(rls.TENANT, str(globex.id), identity)
            app.execute("SELECT set_config(%s, %s, false)", [rls.TENANT, signed])
            rows = app.execute("SELECT DISTINCT tenant_id FROM interviews_candidate").fetchall()
            assert rows == [(globex.id,)]
            assert app.execute("SELECT count(*) FROM interviews_candidate").fetchone() == (4,)
            signed = rls.sign(rls.TENANT, str(acme.id), identity)
            app.execute("SELECT set_config(%s, %s, false)", [rls.TENANT, signed])
            assert app.execute("SELECT count(*) FROM interviews_candidate").fetchone() == (3,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute("SELECT * FROM rls_private.signing_key")

        # The audit trail stays append-only, even for a superuser.
        with target.admin() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege) as error:
            conn.execute("UPDATE tenants_auditevent SET action = 'rewritten'")
        assert "append-only" in str(error.value)

        # A database that already holds tables is not overwritten unless asked.
        again = _run("restore", str(dump), env=env)
        assert again.returncode == 1
        assert "already has" in again.stderr and "--force" in again.stderr
        forced = _run("restore", "--force", str(dump), env=env)
        assert forced.returncode == 0, forced.stderr
        with target.admin() as conn:
            assert _checksums(conn) == before


def test_restore_refuses_an_owner_role_other_than_the_backups(tmp_path):
    TenantFactory()
    backup = _run("backup", "-o", str(tmp_path), env=dict(os.environ))
    assert backup.returncode == 0, backup.stderr
    dump = backup.stdout.strip().splitlines()[-1]
    with scratch_database("other_owner") as target:
        env = target.env(
            DATABASE_OWNER_URL=target.owner_url.replace("interview_owner@", "postgres@")
        )
        result = _run("restore", dump, env=env)
    assert result.returncode == 1
    assert "belongs to role 'interview_owner'" in result.stderr


def _pg_restore() -> str:
    major = subprocess.run(
        [
            "bash",
            "-c",
            'source scripts/lib/postgres.sh; pg_bin "$(server_major "$1")"',
            "-",
            os.environ["TEST_DATABASE_ADMIN_URL"],
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return str(Path(major.stdout.strip()) / "pg_restore")
