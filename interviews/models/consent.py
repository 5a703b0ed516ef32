"""Consent: a candidate's recorded agreement, without which no session starts."""

from django.db import models

from core.models import TenantOwned

from .candidates import Candidate


class Consent(TenantOwned):
    """A candidate's agreement to an AI-conducted, recorded interview: the exact text they were
    shown, its version, when and from where. No session starts without one."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="consents")
    version = models.CharField(max_length=32)
    text = models.TextField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    accepted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-accepted_at"]

    def __str__(self):
        return f"Consent {self.version} by {self.candidate_id}"
