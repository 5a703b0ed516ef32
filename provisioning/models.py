"""Operator API clients: the platform operators' credentials for provisioning tenants.

They belong to no tenant, and are kept apart from the tenants' API clients (tenant_api) so
that no tenant's credentials can ever reach these operations. Their table is visible only
under the platform bypass (migration 0002)."""

from __future__ import annotations

import uuid

from django.db import models


class OperatorClient(models.Model):
    """One operator integration's credentials. Like a tenant's API client, the secret is shown
    once and only its SHA-256 is kept (256 random bits: a slow hash would add only time)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=40, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "operator API client"

    def __str__(self):
        return f"{self.name} ({self.client_id})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
