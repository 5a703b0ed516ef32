"""Tenants (companies), their members and the audit trail.

Every tenant-owned table in the project carries ``tenant_id`` and is protected twice: by
queryset scoping in the application (tenants.selectors / tenants.admin) and by a FORCEd
PostgreSQL row-level security policy (core.rls), so a bug in one wall is caught by the other.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class TenantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Tenant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE
    )
    retention_days = models.PositiveIntegerField(
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Interview recordings, transcripts and summaries are deleted after this many "
        "days.",
    )
    invitation_expiry_days = models.PositiveIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    allowed_admin_networks = models.JSONField(
        default=list,
        blank=True,
        help_text="CIDR ranges recruiters may use the console from; empty allows any network.",
    )
    require_two_factor = models.BooleanField(
        default=False,
        # Rows inserted by the release before this one, during a rolling deploy, get it too.
        db_default=False,
        help_text="Members must sign in to the console with a code from an authenticator app "
        "(two-factor authentication) as well as their password.",
    )
    branding = models.JSONField(
        default=dict, blank=True, help_text='For example {"logo_url": "...", "color": "#0b5"}.'
    )
    video_enabled = models.BooleanField(
        default=True,
        help_text="Record the candidate's camera during interviews (docs/video.md).",
    )
    default_model = models.CharField(max_length=64, default="gpt-realtime")
    default_voice = models.CharField(max_length=32, default="marin")
    default_language = models.CharField(max_length=16, default="en")
    # Deletion is asked for, then done after TENANT_DELETION_GRACE_DAYS (privacy.tasks); the
    # row itself stays, emptied, since the audit trail refers to it (docs/provisioning.md).
    deletion_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    RECRUITER = "recruiter", "Recruiter"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A user's role in one tenant. A user may belong to several tenants."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.RECRUITER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user"),
        ]

    def __str__(self):
        return f"{self.user} - {self.get_role_display()} at {self.tenant}"

    @property
    def can_edit(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage memberships, tenant settings and deletions."""
        return self.role in {Role.OWNER, Role.ADMIN}


#: Audit events are kept at least this long (about six months): the database refuses to delete
#: a younger one (tenants migration 0007), whatever AUDIT_RETENTION_DAYS says.
AUDIT_MIN_RETENTION_DAYS = 183


class AuditEvent(models.Model):
    """Who did what to which object, and from where. Append-only: a database trigger refuses
    UPDATE for every role, and DELETE of any event younger than AUDIT_MIN_RETENTION_DAYS."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Nullable for platform-level events (operator bypass, tenant provisioning).
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # No database constraint: deleting a user must not rewrite the audit trail.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Audit changelist: newest first within the tenant.
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created_idx"),
            # "History of this object" lookups from candidate/session pages.
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self):
        return f"{self.action} {self.target_repr}".strip()
