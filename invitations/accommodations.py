"""Accommodation requests: a candidate asks for an alternative process or an accommodation at
any step, the tenant's owners and admins are emailed, and a recruiter marks them resolved."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import rls
from tenants.models import Membership, Role
from tenants.services import audit_record

from .models import AccommodationRequest, InterviewInvitation

logger = logging.getLogger(__name__)


@transaction.atomic
def accommodation_request_create(
    *, invitation: InterviewInvitation, message: str
) -> AccommodationRequest:
    """Record a candidate's request for an alternative process or accommodation and notify
    the tenant's owners and admins."""
    message = (message or "").strip()
    if not message:
        raise ValidationError({"message": "Tell us what you need."})
    if len(message) > 4000:
        raise ValidationError({"message": "Please keep it under 4,000 characters."})
    with rls.tenant_context(invitation.tenant_id):
        request = AccommodationRequest.objects.create(
            tenant_id=invitation.tenant_id,
            invitation=invitation,
            candidate_id=invitation.candidate_id,
            message=message,
        )
        audit_record(
            action="accommodation.requested",
            tenant_id=invitation.tenant_id,
            target=request,
        )
    from . import tasks

    tasks.notify_accommodation_request.delay_on_commit(str(request.pk), str(request.tenant_id))
    return request


def accommodation_notify(*, request_id, tenant_id) -> int:
    """Email the request to the tenant's owners and admins. Returns how many were emailed."""
    with rls.tenant_context(tenant_id):
        request = AccommodationRequest.objects.select_related(
            "tenant", "candidate", "invitation__template"
        ).get(pk=request_id)
        recipients = list(
            Membership.objects.filter(tenant_id=tenant_id, role__in=[Role.OWNER, Role.ADMIN])
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    if not recipients:
        return 0
    context = {
        "request": request,
        "console_url": settings.SITE_URL
        + reverse("admin:invitations_accommodationrequest_change", args=[request.pk]),
    }
    EmailMultiAlternatives(
        subject=f"Accommodation request from {request.candidate}",
        body=render_to_string("invitations/email/accommodation.txt", context),
        to=recipients,
    ).send()
    return len(recipients)


@transaction.atomic
def accommodation_resolve(*, requests, actor) -> int:
    """Mark accommodation requests as dealt with."""
    count = 0
    for request in requests:
        if request.resolved_at is None:
            request.resolved_at = timezone.now()
            request.save(update_fields=["resolved_at"])
            audit_record(
                action="accommodation.resolved",
                tenant_id=request.tenant_id,
                actor=actor,
                target=request,
            )
            count += 1
    return count
