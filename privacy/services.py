"""Writes for data protection: the retention policy and erasure on request.

Retention (``retention_apply``, run daily per tenant) archives each session past the tenant's
``retention_days`` - one JSON file in the archive storage, written first under a deterministic
name - and then deletes it with everything it produced, in one transaction per session; then
the invitations, consents and candidates that outlived it. Every step picks its rows by what
the database says now, so a run that stopped halfway is finished by the next one (the archive
of a half-done session is written again, not twice).

Erasure (``candidate_erase``, the console's "Erase personal data" and its delete) removes one
candidate and everything about them in their tenant - sessions, transcripts, summaries,
timelines, invitations, accommodation requests, consents, archives - and hands their video
recordings to the provider's delete.

Both leave an audit event that says what went - counts and field names, never a value - and
the audit trail itself is never touched by them (it is pruned on its own terms, see
``tenants.services.audit_events_prune``).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from core import rls
from interviews.models import ON_CALL_STATUSES, Candidate, Consent, InterviewSession
from invitations.models import InterviewInvitation
from live.video import video_recordings_delete
from tenants.models import AuditEvent, Membership, Tenant
from tenants.services import audit_events_prune, audit_record, system_bypass
from webhooks import services as webhooks_services
from webhooks.models import WebhookEvent

from . import archive, selectors

logger = logging.getLogger(__name__)
User = get_user_model()

ARCHIVES = "archives"
VIDEO_RECORDINGS = "video_recordings"
ACCOUNTS = "accounts"
AUDIT_EVENTS = "tenants.auditevent"


def _counted(deleted: tuple[int, dict]) -> Counter:
    """What a queryset's ``delete()`` removed, by model (``interviews.transcriptentry``...)."""
    return Counter({label.lower(): count for label, count in deleted[1].items() if count})


# --- Retention -------------------------------------------------------------------------------


def retention_cutoff(tenant: Tenant, *, now=None):
    """The time before which the tenant's interviews are past retention, or None when the
    tenant keeps them (a retention of 0 days, which the settings form does not allow, is
    read as "keep", never as "delete everything")."""
    if not tenant.retention_days:
        return None
    return (now or timezone.now()) - timedelta(days=tenant.retention_days)


def retention_apply(*, tenant_id, now=None) -> dict:
    """Apply the tenant's retention policy once (the daily job): archive and delete each
    session past it, then the invitations, consents and candidates left past it, and prune its
    audit events older than AUDIT_RETENTION_DAYS. Records the run, with its counts, in the
    tenant's audit trail - also a run that failed halfway, as incomplete. Returns the counts."""
    now = now or timezone.now()
    counts: Counter = Counter()
    with rls.tenant_context(tenant_id):
        tenant = Tenant.objects.get(pk=tenant_id)
        cutoff = retention_cutoff(tenant, now=now)
        complete = False
        try:
            if cutoff is not None:
                for session_id in selectors.sessions_past_retention(cutoff=cutoff).values_list(
                    "pk", flat=True
                ):
                    counts += session_archive(session_id=session_id, tenant_id=tenant_id, now=now)
                counts += _expired_rows_delete(tenant_id=tenant_id, cutoff=cutoff)
            if settings.AUDIT_RETENTION_DAYS:
                pruned = audit_events_prune(
                    tenant_id=tenant_id, keep_days=settings.AUDIT_RETENTION_DAYS, now=now
                )
                counts += Counter({AUDIT_EVENTS: pruned})
            complete = True
        finally:
            details = {
                "retention_days": tenant.retention_days,
                "cutoff": cutoff.isoformat() if cutoff else None,
                "counts": dict(sorted(counts.items())),
                "complete": complete,
            }
            audit_record(
                action="retention.applied",
                tenant_id=tenant_id,
                actor_label="retention job",
                target=tenant,
                details=details,
            )
            logger.info("retention applied", extra={"tenant": str(tenant_id), **details})
    return dict(counts)


def session_archive(*, session_id, tenant_id, now=None) -> Counter:
    """Archive one session past retention and delete it, in one transaction under its row's
    lock: the archive is written first (replacing one a crashed run left), so the rows go only
    once their copy is stored. A session another run holds, or no longer past retention, is
    left alone. Returns what went, by model, with the archive."""
    with rls.tenant_context(tenant_id), transaction.atomic():
        tenant = Tenant.objects.get(pk=tenant_id)
        cutoff = retention_cutoff(tenant, now=now)
        if cutoff is None:
            return Counter()
        session = (
            selectors.sessions_past_retention(cutoff=cutoff)
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=session_id)
            .first()
        )
        if session is None:
            return Counter()
        name = archive.session_archive_name(
            tenant_id=tenant_id, candidate_id=session.candidate_id, session_id=session.pk
        )
        archive.archive_write(name, selectors.session_archive_document(session, reason="retention"))
        counts = session_data_delete(session)
        counts[ARCHIVES] += 1
        return counts


def session_data_delete(session: InterviewSession) -> Counter:
    """Delete a session and what it produced (transcript, summary, timeline, video segments),
    the invitation it was started from (with accommodation requests made on it) and its
    consent when no other session uses it; queue its recordings' deletion at the provider.
    (In the caller's transaction and tenant context.)"""
    counts = Counter()
    video_ids = selectors.session_video_ids(session.pk)
    counts += _counted(InterviewInvitation.objects.filter(session=session).delete())
    counts += _counted(InterviewSession.objects.filter(pk=session.pk).delete())
    consent = Consent.objects.filter(pk=session.consent_id)
    if not InterviewSession.objects.filter(consent_id=session.consent_id).exists():
        counts += _counted(consent.delete())
    counts[VIDEO_RECORDINGS] += len(video_recordings_delete(session.tenant_id, video_ids))
    return +counts


def _expired_rows_delete(*, tenant_id, cutoff) -> Counter:
    """After the sessions: invitations, consents and then candidates past retention, each
    kind in a transaction of its own."""
    counts = Counter()
    with transaction.atomic():
        counts += _counted(selectors.invitations_past_retention(cutoff=cutoff).delete())
    with transaction.atomic():
        counts += _counted(selectors.consents_past_retention(cutoff=cutoff).delete())
    with transaction.atomic():
        # Locked, so that no invitation or session can be added to one while it goes.
        rows = list(
            selectors.candidates_left_with_nothing(cutoff=cutoff)
            .select_for_update(skip_locked=True)
            .values_list("pk", "user_id")
        )
        counts += _counted(Candidate.objects.filter(pk__in=[pk for pk, _ in rows]).delete())
        counts[ACCOUNTS] += candidate_accounts_release({user for _, user in rows} - {None})
    return +counts


# --- Erasure ---------------------------------------------------------------------------------


class InterviewInProgress(ValidationError):
    """Erasure refused: one of the candidate's interviews is on a call right now."""


@transaction.atomic
def candidate_erase(*, candidate: Candidate, actor, action: str = "candidate.erased") -> dict:
    """Erase a candidate's personal data in their tenant: the candidate and their sessions
    (transcripts, summaries, timelines, video segments), invitations, accommodation requests,
    consents and session archives, and their sign-in account when nothing else uses it; their
    video recordings go to the provider's delete. The audit trail records what was erased -
    counts and field names, never a value - when and by whom (``action``: the console's erase,
    or its delete). Returns the counts."""
    tenant_id, candidate_id = candidate.tenant_id, candidate.pk
    with rls.tenant_context(tenant_id):
        locked = Candidate.objects.select_for_update().filter(pk=candidate_id).first()
        if locked is None:
            raise Candidate.DoesNotExist(candidate_id)
        if InterviewSession.objects.filter(
            candidate_id=candidate_id, status__in=ON_CALL_STATUSES
        ).exists():
            # Deleting the session under a running call would leave the call going with
            # nothing recorded; it ends within the template's time limit.
            raise InterviewInProgress(
                "This candidate's interview is in progress. Erase their data once it has ended."
            )
        video_ids = selectors.candidate_video_ids(candidate_id)
        deleted = Counter()
        # In this order: a session protects its consent, so the candidate's cascade alone
        # would refuse to delete a candidate who was interviewed.
        for rows in (
            InterviewInvitation.objects.filter(candidate_id=candidate_id),
            InterviewSession.objects.filter(candidate_id=candidate_id),
            Consent.objects.filter(candidate_id=candidate_id),
            Candidate.objects.filter(pk=candidate_id),
        ):
            deleted += _counted(rows.delete())
        # Storage is not transactional: the archives go after the rows, so a failure here
        # rolls the rows back and the erasure can be tried again whole.
        archives = archive.candidate_archives_delete(tenant_id=tenant_id, candidate_id=candidate_id)
        videos = video_recordings_delete(tenant_id, video_ids)
        accounts = candidate_accounts_release({locked.user_id} - {None})
        details = {
            "erased": {
                label: {"count": count, "fields": _field_names(label)}
                for label, count in sorted(deleted.items())
            },
            ARCHIVES: archives,
            VIDEO_RECORDINGS: len(videos),
            ACCOUNTS: accounts,
        }
        audit_record(
            action=action, tenant_id=tenant_id, actor=actor, target=locked, details=details
        )
        # Deliveries about the candidate may carry their interviews' transcripts: they go
        # too, and the tenant's systems hear of the erasure (by ids: the name is gone).
        webhooks_services.deliveries_about_candidate_delete(
            tenant_id=tenant_id, candidate_id=candidate_id
        )
        if action != TENANT_ERASURE:  # a company being deleted has no one left to tell
            webhooks_services.webhook_emit(
                tenant_id=tenant_id,
                event_type=WebhookEvent.CANDIDATE_ERASED,
                data={
                    "candidate_id": str(candidate_id),
                    "external_id": locked.external_id,
                    "erased_at": timezone.now().isoformat(),
                },
            )
    logger.info(
        "candidate erased", extra={"tenant": str(tenant_id), "candidate": str(candidate_id)}
    )
    return details


def _field_names(label: str) -> list[str]:
    from django.apps import apps

    model = apps.get_model(label)
    return sorted(
        field.name for field in model._meta.concrete_fields if field.name not in {"id", "tenant"}
    )


# --- Tenants --------------------------------------------------------------------------------


def _tenant_owned_models() -> list:
    """Every model whose rows belong to a tenant, but the audit trail (which outlives them)."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if field is not None and field.related_model is Tenant and model is not AuditEvent:
            found.append(model)
    return found


#: The audit action of a candidate erased with their company (no webhook is sent for it).
TENANT_ERASURE = "candidate.erased_with_tenant"


def tenant_erase(*, tenant_id, now=None) -> dict | None:
    """Erase a tenant whose deletion grace period is over: each candidate through
    ``candidate_erase`` (so their recordings and archives go too), then every other row the
    tenant owns. The tenant row stays, emptied and marked ``deleted_at``, because its audit
    trail refers to it and is kept on its own terms. Returns the counts, or None when the
    tenant is not due (resumed meanwhile, already erased) or one of its interviews is still
    on a call (the next run tries again). Audited in the tenant's trail and at platform level.
    """
    with system_bypass(reason="tenant deletion"):
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None or tenant.deleted_at is not None or tenant.deletion_requested_at is None:
            return None
        due = tenant.deletion_requested_at + timedelta(days=settings.TENANT_DELETION_GRACE_DAYS)
        if due > (now or timezone.now()):
            return None
        candidates = list(Candidate.objects.filter(tenant_id=tenant_id).order_by("pk"))
    erased = 0
    try:
        for candidate in candidates:
            # Each candidate under a lock of the tenant row, re-checked: a resume (which
            # locks the row to change it) cancels the deletion between two candidates,
            # never in the middle of one, and no candidate goes after it.
            with transaction.atomic():
                with system_bypass(reason="tenant deletion"):
                    still = (
                        Tenant.objects.select_for_update(no_key=True)
                        .filter(pk=tenant_id, deletion_requested_at__isnull=False)
                        .exists()
                    )
                if not still:
                    return None
                candidate_erase(candidate=candidate, actor=None, action=TENANT_ERASURE)
            erased += 1
    except InterviewInProgress:
        logger.info("tenant deletion waits for an interview", extra={"tenant": str(tenant_id)})
        return None
    with transaction.atomic(), system_bypass(reason="tenant deletion"):
        locked = Tenant.objects.select_for_update().get(pk=tenant_id)
        if locked.deletion_requested_at is None:  # resumed while the candidates went
            return None
        deleted = Counter()
        remaining = _tenant_owned_models()
        # Rows protect one another (a session its consent...): delete what can go, then again.
        for _ in range(len(remaining) + 1):
            blocked = []
            for model in remaining:
                try:
                    with transaction.atomic():
                        deleted += _counted(model.objects.filter(tenant_id=tenant_id).delete())
                except ProtectedError:
                    blocked.append(model)
            if not blocked:
                break
            remaining = blocked
        else:
            raise RuntimeError(f"tenant {tenant_id}: rows still protected: {remaining}")
        locked.deleted_at = timezone.now()
        locked.branding = {}
        locked.allowed_admin_networks = []
        locked.save(update_fields=["deleted_at", "branding", "allowed_admin_networks"])
        details = {
            "candidates": erased,
            "erased": dict(sorted(deleted.items())),
            "requested_at": locked.deletion_requested_at.isoformat(),
        }
        for trail in (tenant_id, None):
            audit_record(action="tenant.erased", tenant_id=trail, target=locked, details=details)
    logger.info("tenant erased", extra={"tenant": str(tenant_id)})
    return details


# --- Accounts --------------------------------------------------------------------------------


def candidate_accounts_release(user_ids) -> int:
    """Delete the sign-in accounts among ``user_ids`` that belonged only to candidates who are
    gone: no candidate row in any tenant links to them, and they are no one's console login
    (no membership, not staff). Their email addresses and Google links go with them. Returns
    how many were deleted. Looks across tenants (a person may be a candidate of several),
    under the logged system bypass, and answers only with a count."""
    if not user_ids:
        return 0
    with system_bypass(reason="release candidate accounts"):
        unused = (
            User.objects.filter(pk__in=list(user_ids), is_staff=False, is_superuser=False)
            .exclude(pk__in=Candidate.objects.filter(user_id__in=list(user_ids)).values("user_id"))
            .exclude(pk__in=Membership.objects.filter(user_id__in=list(user_ids)).values("user_id"))
        )
        deleted = _counted(unused.delete())
    return deleted.get(User._meta.label_lower, 0)
