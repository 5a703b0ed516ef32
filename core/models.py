"""The base of every tenant-owned model."""

import uuid

from django.db import models


class TenantOwned(models.Model):
    """A row that belongs to one tenant: ``tenant_id`` is what the row-level security policy
    compares (core.rls.rls_enable in each table's migration) and what the console and the APIs
    scope by."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class MaintenanceMode(models.Model):
    """The platform's maintenance switch (``manage.py maintenance``): one row, id 1, in the
    database every web process reads, so switching it takes effect everywhere at once. Not a
    tenant's row: it holds no personal data and every process may read it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    enabled = models.BooleanField(default=False)
    message = models.CharField(max_length=500, blank=True)
    retry_after_seconds = models.PositiveIntegerField(default=900)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.CharField(max_length=254, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="maintenance_mode_one_row")
        ]

    def __str__(self):
        return "maintenance on" if self.enabled else "maintenance off"
