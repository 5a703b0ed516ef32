"""Maintenance mode: while it is on, no new interview starts.

What it closes (docs/operations.md): the candidate pages up to the interview (invitation,
consent, sign-in, device check, start) and, for sessions not yet under way, the interview page
and the candidate API's start and connect. An interview already live carries on to its end:
its page, heartbeats, transcript, reconnections and end all work. The console, the tenant API,
``/healthz`` and the workers are not affected; ``/readyz`` reports it.

The switch is one database row (core.models.MaintenanceMode), read on each request that can
start an interview, so every web process sees a change at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import wraps

from django.db import transaction
from django.shortcuts import render
from django.utils import timezone

from .models import MaintenanceMode

#: A friendly default for the candidate pages when no message is given.
DEFAULT_MESSAGE = (
    "The interview platform is down for scheduled maintenance. Your invitation is still "
    "valid: please come back a little later."
)


@dataclass(frozen=True)
class Maintenance:
    message: str
    retry_after_seconds: int
    since: datetime | None

    @property
    def text(self) -> str:
        return self.message or DEFAULT_MESSAGE


class InMaintenance(Exception):
    """Raised by a service asked to start an interview while maintenance is on."""

    def __init__(self, maintenance: Maintenance):
        super().__init__(maintenance.text)
        self.maintenance = maintenance


def maintenance_current() -> Maintenance | None:
    """The maintenance in force, or None."""
    row = (
        MaintenanceMode.objects.filter(pk=1, enabled=True)
        .values_list("message", "retry_after_seconds", "changed_at")
        .first()
    )
    return Maintenance(*row) if row else None


@transaction.atomic
def maintenance_switch(
    *, enabled: bool, message: str = "", retry_after_seconds: int = 900, changed_by: str
) -> MaintenanceMode:
    """Switch maintenance mode on (with the candidates' message and the Retry-After to send)
    or off. Switching it on again replaces the message."""
    if not 1 <= retry_after_seconds <= 86_400:
        raise ValueError("retry_after_seconds must be between 1 and 86400")
    if len(message) > MaintenanceMode._meta.get_field("message").max_length:
        raise ValueError("the message is longer than 500 characters")
    row, _ = MaintenanceMode.objects.select_for_update().get_or_create(pk=1)
    row.enabled = enabled
    if enabled:
        row.message = message
        row.retry_after_seconds = retry_after_seconds
    row.changed_at = timezone.now()
    row.changed_by = changed_by
    row.save(
        update_fields=["enabled", "message", "retry_after_seconds", "changed_at", "changed_by"]
    )
    return row


def maintenance_page(request, maintenance: Maintenance):
    """The candidates' 503 page, with Retry-After."""
    response = render(request, "maintenance.html", {"maintenance": maintenance}, status=503)
    response["Retry-After"] = str(maintenance.retry_after_seconds)
    return response


def closed_for_maintenance(view):
    """For a candidate page that leads to a new interview: while maintenance is on it answers
    the maintenance page instead."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        maintenance = maintenance_current()
        if maintenance is not None:
            return maintenance_page(request, maintenance)
        return view(request, *args, **kwargs)

    return wrapper
