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
