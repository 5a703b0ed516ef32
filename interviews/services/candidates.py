"""Candidates: adding, editing and deleting them, each change in the audit trail."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tenants.models import Tenant
from tenants.services import audit_record

from ..models import Candidate, CandidateStatus, InterviewSession

User = get_user_model()

CANDIDATE_EDITABLE_FIELDS = ("email", "full_name", "external_id", "status")


def normalize_email(email: str) -> str:
    return User.objects.normalize_email(email or "").strip().lower()


def _require_unique_candidate(*, tenant_id, email: str, external_id: str, exclude_pk=None):
    others = Candidate.objects.filter(tenant_id=tenant_id).exclude(pk=exclude_pk)
    if others.filter(email=email).exists():
        raise ValidationError({"email": "A candidate with this email already exists."})
    if external_id and others.filter(external_id=external_id).exists():
        raise ValidationError({"external_id": "A candidate with this external id already exists."})


@transaction.atomic
def candidate_create(
    *, tenant: Tenant, email: str, full_name: str = "", external_id: str = "", actor
) -> Candidate:
    """Add a candidate to the tenant's pipeline (emails are stored lower-case)."""
    email = normalize_email(email)
    external_id = (external_id or "").strip()
    _require_unique_candidate(tenant_id=tenant.pk, email=email, external_id=external_id)
    candidate = Candidate(
        tenant=tenant, email=email, full_name=full_name.strip(), external_id=external_id
    )
    candidate.full_clean(exclude=["tenant", "user"])
    candidate.save(force_insert=True)
    audit_record(action="candidate.created", tenant=tenant, actor=actor, target=candidate)
    return candidate


def candidate_upsert(*, tenant: Tenant, external_id: str, values: dict, actor):
    """Create the tenant's candidate with this external id (an ATS's own id), or apply
    ``values`` to the one that has it. Returns ``(candidate, created)``. Two requests racing
    to create the same one end with one candidate: the loser updates the winner's."""

    def once():
        with transaction.atomic():
            existing = (
                Candidate.objects.select_for_update()
                .filter(tenant_id=tenant.pk, external_id=external_id)
                .first()
            )
            if existing is not None:
                changes = {**values, "external_id": external_id}
                return candidate_update(candidate=existing, actor=actor, changes=changes), False
            created = candidate_create(
                tenant=tenant,
                email=values["email"],
                full_name=values.get("full_name", ""),
                external_id=external_id,
                actor=actor,
            )
            if values.get("status") not in (None, "", created.status):
                candidate_update(
                    candidate=created, actor=actor, changes={"status": values["status"]}
                )
            return created, True

    try:
        return once()
    except IntegrityError:
        return once()  # the other request's candidate exists now


@transaction.atomic
def candidate_update(*, candidate: Candidate, actor, changes: dict) -> Candidate:
    """Apply a recruiter's edits. The audit trail records which fields changed (and status
    values), never the personal data itself."""
    unknown = set(changes) - set(CANDIDATE_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Not editable: {', '.join(sorted(unknown))}")
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    stored = Candidate.objects.values(*CANDIDATE_EDITABLE_FIELDS).get(pk=candidate.pk)
    previous_status = stored["status"]
    changes = {field: value for field, value in changes.items() if stored[field] != value}
    for field, value in changes.items():
        setattr(candidate, field, value)
    _require_unique_candidate(
        tenant_id=candidate.tenant_id,
        email=candidate.email,
        external_id=candidate.external_id,
        exclude_pk=candidate.pk,
    )
    candidate.full_clean(exclude=["tenant", "user"])
    if not changes:
        return candidate
    fields = [*changes, "updated_at"]
    if "email" in changes and candidate.user_id:
        # The account proved the old address, not the new one: it must sign in again.
        candidate.user = None
        fields.append("user")
    candidate.save(update_fields=fields)
    details: dict = {"fields": sorted(changes)}
    if "status" in changes:
        details["status"] = {"from": previous_status, "to": candidate.status}
    audit_record(
        action="candidate.changed",
        tenant_id=candidate.tenant_id,
        actor=actor,
        target=candidate,
        details=details,
    )
    return candidate


@transaction.atomic
def candidate_set_status(*, candidates, status: str, actor) -> int:
    """Move several candidates to ``status`` (an admin action); returns how many changed."""
    if status not in CandidateStatus.values:
        raise ValidationError(f"Unknown candidate status {status!r}.")
    changed = 0
    for candidate in candidates:
        if candidate.status != status:
            candidate_update(candidate=candidate, actor=actor, changes={"status": status})
            changed += 1
    return changed


@transaction.atomic
def candidate_delete(*, candidate: Candidate, actor) -> None:
    """Delete a candidate and everything recorded about them (sessions, transcripts...)."""
    audit_record(
        action="candidate.deleted",
        tenant_id=candidate.tenant_id,
        actor=actor,
        target=candidate,
    )
    # Sessions first: each protects its consent, which the candidate's cascade reaches first.
    InterviewSession.objects.filter(candidate=candidate).delete()
    candidate.delete()
