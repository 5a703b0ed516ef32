"""API clients (an integration's credentials) and the answers kept for idempotent retries."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import TenantOwned


class ApiClient(TenantOwned):
    """One integration's credentials. The secret is shown once and only its SHA-256 is kept
    (it is 256 random bits: a slow hash would add nothing but time to every token exchange).
    """

    name = models.CharField(max_length=100)
    client_id = models.CharField(max_length=40, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text="What the client may do (scopes.SCOPES).")
    allowed_networks = models.JSONField(
        default=list,
        blank=True,
        help_text="CIDR ranges this client may call from; empty: the company's console list.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self):
        return f"{self.name} ({self.client_id})"


class IdempotencyRecord(TenantOwned):
    """The first answer to a POST sent with an ``Idempotency-Key``: the same key and body get
    it again; the same key with another body is a 409. Kept API_IDEMPOTENCY_HOURS."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of method, path and body
    status_code = models.PositiveSmallIntegerField(null=True)  # None: still being answered
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_key")
        ]
        indexes = [models.Index(fields=["created_at"])]
