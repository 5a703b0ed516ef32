"""Which pending migrations would lock a large table out of reads or writes while they work.

The release command runs this before ``migrate`` (``manage.py migration_safety_check``): a
migration that rebuilds, scans or indexes a table under a lock that blocks writes is quick on
a small table and an outage on a large one, and the time limits ``migrate`` sets would only
turn that outage into a failed deploy half-way. So such a migration is refused before anything
changes, unless the operator names it (a maintenance window), and the fix is usually the
PostgreSQL-friendly operation: ``AddIndexConcurrently``, ``AddConstraintNotValid`` followed by
``ValidateConstraint``, a new column instead of a type change.

Not flagged: ``RemoveField``, ``DeleteModel``, renames and ``RemoveIndex`` take an exclusive
lock only for a catalog change (``lock_timeout`` bounds the wait for it); adding a column with
a constant default needs no rewrite since PostgreSQL 11 (a volatile database default, such as
``gen_random_uuid()``, would: review those by hand); ``RunSQL``/``RunPython`` cannot be
read and are reviewed by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.postgres.operations import AddConstraintNotValid, AddIndexConcurrently
from django.db import models
from django.db.migrations import Migration
from django.db.migrations import operations as ops
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState


@dataclass(frozen=True)
class LockRisk:
    """One operation that holds a write-blocking lock for as long as its table takes."""

    migration: str  # "app_label.migration_name"
    operation: str
    table: str
    why: str


@dataclass(frozen=True)
class LargeTableLock:
    risk: LockRisk
    rows: int
    bytes: int


def pending_lock_risks(*, connection, executor: MigrationExecutor | None = None) -> list[LockRisk]:
    """The lock risks of the migrations ``migrate`` would apply now, in order."""
    executor = executor or MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    risks = []
    for migration, backwards in plan:
        if backwards:
            continue
        state = executor.loader.project_state((migration.app_label, migration.name), at_end=False)
        risks.extend(migration_lock_risks(migration, state=state, connection=connection))
    return risks


def migration_lock_risks(
    migration: Migration, *, state: ProjectState, connection
) -> list[LockRisk]:
    """The lock risks of ``migration``'s operations, given the project state before it."""
    state = state.clone()
    label = f"{migration.app_label}.{migration.name}"
    risks = []
    for operation in migration.operations:
        database_operations = (
            operation.database_operations
            if isinstance(operation, ops.SeparateDatabaseAndState)
            else [operation]
        )
        for database_operation in database_operations:
            for table, why in _operation_risks(
                database_operation,
                app_label=migration.app_label,
                state=state,
                connection=connection,
            ):
                risks.append(LockRisk(label, database_operation.describe(), table, why))
        operation.state_forwards(migration.app_label, state)
    return risks


def large_table_locks(
    risks: list[LockRisk], *, connection, max_rows: int, max_bytes: int
) -> list[LargeTableLock]:
    """The risks whose table holds more than ``max_rows`` rows (the planner's estimate) or
    ``max_bytes`` bytes (indexes and TOAST included)."""
    found = []
    with connection.cursor() as cursor:
        for risk in risks:
            cursor.execute(
                "SELECT c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
                "WHERE c.oid = to_regclass(%s)",
                [connection.ops.quote_name(risk.table)],
            )
            row = cursor.fetchone()
            if row is None:  # created by an earlier pending migration: empty
                continue
            rows, size = max(row[0], 0), row[1]  # reltuples is -1 before the first ANALYZE
            if rows > max_rows or size > max_bytes:
                found.append(LargeTableLock(risk, rows, size))
    return found


def _operation_risks(operation, *, app_label: str, state: ProjectState, connection):
    if isinstance(operation, (AddIndexConcurrently, AddConstraintNotValid)):
        return
    model_name = getattr(operation, "model_name", None) or getattr(operation, "name", None)
    model_state = state.models.get((app_label, (model_name or "").lower()))
    if model_state is None or not _has_table(model_state):
        return
    table = model_state.options.get("db_table") or f"{app_label}_{model_state.name_lower}"
    if isinstance(operation, (ops.AddIndex, ops.AlterUniqueTogether, ops.AlterIndexTogether)):
        yield table, "builds an index while writes wait (use AddIndexConcurrently)"
    elif isinstance(operation, ops.AddConstraint):
        if isinstance(operation.constraint, models.UniqueConstraint):
            yield table, "builds a unique index while writes wait"
        else:
            yield table, "checks every row while writes wait (use AddConstraintNotValid)"
    elif isinstance(operation, ops.AddField):
        yield from (
            (table, why)
            for why in _new_field_risks(operation.field, old=None, connection=connection)
        )
    elif isinstance(operation, ops.AlterField):
        old = model_state.fields.get(operation.name)
        yield from (
            (table, why)
            for why in _new_field_risks(operation.field, old=old, connection=connection)
        )


def _has_table(model_state) -> bool:
    return model_state.options.get("managed", True) and not model_state.options.get("proxy")


def _new_field_risks(field, *, old, connection):
    """What adding ``field`` (``old`` None) or changing ``old`` into it locks a table for."""
    if isinstance(field, models.GeneratedField) and field.db_persist:
        yield "computes a stored generated column for every row under an exclusive lock"
    if old is not None and not field.is_relation and not old.is_relation:
        try:
            old_type = old.db_parameters(connection)["type"]
            new_type = field.db_parameters(connection)["type"]
        except Exception:  # a field that needs its model to name its type: assume the worst
            yield "may rewrite the table under an exclusive lock (its column type is unread)"
        else:
            if old_type != new_type and not _type_widened(old_type, new_type):
                yield f"rewrites the table under an exclusive lock ({old_type} to {new_type})"
    if old is not None and old.null and not field.null:
        yield "scans every row for NOT NULL under an exclusive lock"
    had_constraint = old is not None and old.is_relation and getattr(old, "db_constraint", False)
    if field.is_relation and getattr(field, "db_constraint", False) and not had_constraint:
        yield "checks every row for the new foreign key while writes wait"
    indexed = field.unique or field.db_index
    was_indexed = old is not None and (old.unique or old.db_index)
    if indexed and not was_indexed:
        yield "builds an index while writes wait (use AddIndexConcurrently)"


def _type_widened(old: str, new: str) -> bool:
    """PostgreSQL changes these without a rewrite: a longer varchar, or varchar to text."""
    old_length = re.fullmatch(r"varchar\((\d+)\)", old)
    if old_length is None:
        return False
    if new == "text":
        return True
    new_length = re.fullmatch(r"varchar\((\d+)\)", new)
    return new_length is not None and int(new_length[1]) >= int(old_length[1])
