"""Crossing the database wall to every tenant: for a platform operator (recorded) or a job,
and recording in each tenant's trail what an operator's pages showed of it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from core import rls

from .audit import audit_record, audit_record_many

logger = logging.getLogger("tenants.services")  # the package's name: log lines name it as before


@contextmanager
def operator_bypass(*, actor, reason: str, audit: bool = True) -> Iterator[None]:
    """A platform operator (Django superuser) sees every tenant. The only way in for a person,
    and it is recorded."""
    if not (actor and actor.is_active and actor.is_superuser):
        raise PermissionError("Only platform operators may bypass tenant isolation.")
    with rls.bypass_context():
        if audit:
            audit_record(action="operator.bypass", actor=actor, details={"reason": reason})
        yield


@contextmanager
def system_bypass(*, reason: str) -> Iterator[None]:
    """For jobs and commands that work across tenants (provisioning, retention). Logged."""
    logger.debug("rls bypass", extra={"reason": reason})
    with rls.bypass_context():
        yield


def operator_viewed_object(*, actor, target, tenant_id, page: str) -> None:
    """Record in the tenant's audit trail that a platform operator opened a page (change,
    history, delete) of one of its objects."""
    with rls.tenant_context(tenant_id):
        audit_record(
            action="operator.viewed",
            tenant_id=tenant_id,
            actor=actor,
            target=target,
            details={"page": page},
        )


def operator_viewed_list(*, actor, model, shown: dict) -> None:
    """Record in each tenant's audit trail that a platform operator's list page showed
    ``shown[tenant_id]`` of its ``model`` rows (one INSERT, however many tenants)."""
    if not shown:
        return
    with system_bypass(reason="operator.listed"):
        audit_record_many(
            [
                {
                    "action": "operator.listed",
                    "tenant_id": tenant_id,
                    "actor": actor,
                    "details": {"model": model._meta.label_lower, "count": count},
                }
                for tenant_id, count in shown.items()
            ]
        )
