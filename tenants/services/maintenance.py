"""Switching the platform's maintenance mode (core.maintenance), recorded in the audit trail."""

from __future__ import annotations

from django.db import transaction

from core.maintenance import maintenance_switch
from core.models import MaintenanceMode

from .audit import audit_record
from .bypass import system_bypass


def platform_maintenance_set(
    *, enabled: bool, message: str = "", retry_after_seconds: int = 900, actor_label: str
) -> MaintenanceMode:
    """Switch maintenance mode on or off, and record who did it as a platform event."""
    with system_bypass(reason="maintenance mode"), transaction.atomic():
        row = maintenance_switch(
            enabled=enabled,
            message=message,
            retry_after_seconds=retry_after_seconds,
            changed_by=actor_label,
        )
        audit_record(
            action="platform.maintenance_on" if enabled else "platform.maintenance_off",
            actor_label=actor_label,
            details={"retry_after_seconds": retry_after_seconds} if enabled else {},
        )
    return row
