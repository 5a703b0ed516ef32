"""Candidates: a person in one tenant's pipeline, and where they are in it."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import TenantOwned


class CandidateStatus(models.TextChoices):
    """Where a candidate is in the tenant's pipeline. It follows their progress
    (services.candidate_status_follow); recruiters may also set it by hand."""

    NEW = "new", "New"
    INVITED = "invited", "Invited"
    INTERVIEWING = "interviewing", "Interviewing"
    INTERVIEWED = "interviewed", "Interviewed"
    ADVANCED = "advanced", "Advanced"
    ON_HOLD = "on_hold", "On hold"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Candidate(TenantOwned):
    """A person in one tenant's pipeline. The same person applying to two tenants has two
    rows, linked to the same auth user once they sign in."""

    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(
        max_length=128, blank=True, help_text="The candidate's id in your ATS."
    )
    status = models.CharField(
        max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.NEW
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="candidacies",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "email"], name="candidate_unique_email"),
            models.UniqueConstraint(
                fields=["tenant", "external_id"],
                condition=~Q(external_id=""),
                name="candidate_unique_external_id",
            ),
        ]
        indexes = [
            # Candidate changelist: newest first, optionally filtered by status.
            models.Index(fields=["tenant", "-created_at"], name="candidate_tenant_created_idx"),
            models.Index(fields=["tenant", "status"], name="candidate_tenant_status_idx"),
        ]

    def __str__(self):
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    @property
    def audit_label(self) -> str:
        """How the (append-only) audit trail names it: no name or address, which must go
        when the candidate's data is erased."""
        return f"Candidate {str(self.pk)[:8]}"
