"""Migrations on a live database: which operations the release command's check counts as
locking a table, the check against real table sizes, and the time limits ``migrate`` runs
under. The command tests use a database of their own with one real migration left pending:
invitations 0005, which rebuilds an index on the invitations table without CONCURRENTLY."""

import threading
import time

import psycopg
import pytest
from django.contrib.postgres.operations import AddConstraintNotValid, AddIndexConcurrently
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader

from tenants import migration_safety
from tests.factories import AuditEventFactory
from tests.support.databases import scratch_database

PENDING = "invitations.0005_expired_at"
INVITATIONS = "invitations_interviewinvitation"


def _risks(*operations, app_label="tenants"):
    loader = MigrationLoader(connection)
    state = loader.project_state()
    migration = migrations.Migration("9999_fake", app_label)
    migration.operations = list(operations)
    return migration_safety.migration_lock_risks(migration, state=state, connection=connection)


def _whys(*operations):
    return [risk.why for risk in _risks(*operations)]


@pytest.mark.django_db
def test_an_index_built_in_place_locks_writes_and_one_built_concurrently_does_not():
    index = models.Index(fields=["name"], name="tenant_name_idx")
    [risk] = _risks(migrations.AddIndex("tenant", index))
    assert risk.table == "tenants_tenant" and risk.migration == "tenants.9999_fake"
    assert "builds an index" in risk.why
    assert _risks(AddIndexConcurrently("tenant", index)) == []


@pytest.mark.django_db
def test_a_validated_constraint_locks_writes_and_one_added_not_valid_does_not():
    check = models.CheckConstraint(condition=models.Q(name__gt=""), name="tenant_named")
    assert "checks every row" in _whys(migrations.AddConstraint("tenant", check))[0]
    assert _risks(AddConstraintNotValid("tenant", check)) == []
    unique = models.UniqueConstraint(fields=["name"], name="tenant_unique_name")
    assert "unique index" in _whys(migrations.AddConstraint("tenant", unique))[0]


@pytest.mark.django_db
def test_a_column_type_change_rewrites_the_table_unless_postgresql_only_widens_it():
    [why] = _whys(migrations.AlterField("tenant", "name", models.IntegerField(default=0)))
    assert "rewrites the table" in why and "varchar(200) to integer" in why
    assert _risks(migrations.AlterField("tenant", "name", models.CharField(max_length=500))) == []
    assert _risks(migrations.AlterField("tenant", "name", models.TextField())) == []
    assert _whys(migrations.AlterField("tenant", "name", models.CharField(max_length=20)))


@pytest.mark.django_db
def test_a_column_made_not_null_is_scanned_under_an_exclusive_lock():
    [why] = _whys(
        migrations.AlterField(
            "tenant", "deleted_at", models.DateTimeField(blank=True, editable=False)
        )
    )
    assert "NOT NULL" in why


@pytest.mark.django_db
def test_new_columns_lock_only_for_an_index_or_a_foreign_key():
    assert _risks(migrations.AddField("tenant", "note", models.TextField(null=True))) == []
    # A constant default needs no rewrite since PostgreSQL 11.
    assert _risks(migrations.AddField("tenant", "flag", models.BooleanField(default=True))) == []
    assert _whys(migrations.AddField("tenant", "code", models.CharField(max_length=5, unique=True)))
    whys = _whys(
        migrations.AddField(
            "tenant", "parent", models.ForeignKey("tenants.tenant", models.CASCADE, null=True)
        )
    )
    assert any("foreign key" in why for why in whys) and any("index" in why for why in whys)


@pytest.mark.django_db
def test_operations_are_read_with_the_state_their_migration_sees():
    # The field is added by the same migration before it is altered: no KeyError, and the
    # type change is read against the added field.
    whys = _whys(
        migrations.AddField("tenant", "note", models.CharField(max_length=10, null=True)),
        migrations.AlterField("tenant", "note", models.IntegerField(null=True)),
    )
    assert whys and "varchar(10) to integer" in whys[0]


@pytest.mark.django_db(transaction=True)
def test_a_table_counts_as_large_by_its_estimated_rows_or_its_size(settings):
    AuditEventFactory.create_batch(30)
    # The planner's estimate is made by ANALYZE, which only the owner may run.
    with psycopg.connect(settings.DATABASE_OWNER_URL.replace("postgres://", "postgresql://")) as c:
        c.execute("ANALYZE tenants_auditevent")
    risk = migration_safety.LockRisk("tenants.9999_fake", "Create index", "tenants_auditevent", "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('tenants_auditevent')")
        size = cursor.fetchone()[0]

    def large(max_rows, max_bytes):
        return migration_safety.large_table_locks(
            [risk], connection=connection, max_rows=max_rows, max_bytes=max_bytes
        )

    [found] = large(29, 10**12)
    assert (found.rows, found.bytes) == (30, size)
    assert large(30, 10**12) == []
    assert large(10**9, size - 1) and large(10**9, size) == []


# --- The commands, on a database of their own -----------------------------------------------


@pytest.fixture(scope="module")
def pending_index():
    """A migrated database with invitations 0005 unapplied again."""
    with scratch_database("safety") as db:
        for args in (["migrate", "-v0"], ["migrate", "invitations", "0004", "-v0"]):
            result = db.manage(*args)
            assert result.returncode == 0, result.stderr
        yield db


def _still_pending(db) -> bool:
    with db.admin() as conn:
        return not conn.execute(
            "SELECT 1 FROM django_migrations WHERE app = 'invitations' AND name = '0005_expired_at'"
        ).fetchone()


def test_the_safety_check_refuses_a_locking_migration_on_a_large_table(pending_index):
    result = pending_index.manage("migration_safety_check", MIGRATION_LARGE_TABLE_BYTES="1")
    assert result.returncode == 1
    assert f"{PENDING}: Create index invitation_open_expiry_idx" in result.stderr
    assert INVITATIONS in result.stderr


def test_the_safety_check_lets_it_through_on_a_small_table_or_when_allowed(pending_index):
    small = pending_index.manage("migration_safety_check")
    assert small.returncode == 0, small.stderr
    assert "1 locking operation(s) pending, none on a large table" in small.stdout
    allowed = pending_index.manage(
        "migration_safety_check", "--allow", PENDING, MIGRATION_LARGE_TABLE_BYTES="1"
    )
    assert allowed.returncode == 0, allowed.stderr


def test_the_release_command_stops_before_migrating_anything(pending_index):
    result = pending_index.manage("release", MIGRATION_LARGE_TABLE_BYTES="1")
    assert result.returncode == 1
    assert "nothing was migrated" in result.stderr
    assert _still_pending(pending_index)


def test_a_maintenance_window_lets_the_release_command_run_it(pending_index):
    # MIGRATION_ALLOW, staged for one deploy: the release command runs on the new image.
    result = pending_index.manage(
        "release", MIGRATION_LARGE_TABLE_BYTES="1", MIGRATION_ALLOW=PENDING
    )
    assert result.returncode == 0, result.stderr
    assert not _still_pending(pending_index)
    again = pending_index.manage("migrate", "invitations", "0004", "-v0")
    assert again.returncode == 0, again.stderr  # pending again, for the tests after this one


def _hold_lock(db, table: str, locked: threading.Event, done: threading.Event):
    with db.admin() as conn, conn.transaction():
        conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        locked.set()
        done.wait(60)


@pytest.mark.parametrize(
    "limits,message",
    [
        ({"MIGRATION_LOCK_TIMEOUT": "1s"}, "canceling statement due to lock timeout"),
        (
            {"MIGRATION_LOCK_TIMEOUT": "0", "MIGRATION_STATEMENT_TIMEOUT": "1s"},
            "canceling statement due to statement timeout",
        ),
    ],
)
def test_migrate_gives_up_on_a_lock_instead_of_queueing_behind_it(pending_index, limits, message):
    locked, done = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(pending_index, INVITATIONS, locked, done))
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        result = pending_index.manage("migrate", "invitations", **limits)
        elapsed = time.monotonic() - started
    finally:
        done.set()  # the lock is held until migrate has given up
        holder.join()
    assert result.returncode != 0
    assert message in result.stderr
    assert elapsed < 30  # without the limits it would wait for the lock as long as it is held
    assert _still_pending(pending_index)
