"""Recruiters' CSV exports of candidates and sessions (the console's "Export selected as CSV").

An export is personal data leaving the platform, so it is held to the same rules as the
console page it comes from and then some: only members who may act on the data (owners,
admins, recruiters; not viewers, and not platform operators, who have no business carrying
a company's candidates away), only from the tenant's networks, at most EXPORT_MAX_ROWS rows,
no tokens, secrets or provider ids, and each one recorded in the audit trail with its row
count (``export.candidates`` / ``export.sessions``)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from io import StringIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core import requestcontext
from tenants.models import Role
from tenants.selectors import network_allowed
from tenants.services import audit_record

#: The most rows one export carries; a larger selection is refused with a message saying so.
EXPORT_MAX_ROWS = 5000

EXPORT_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.RECRUITER})

CANDIDATE_COLUMNS = ("id", "email", "full_name", "external_id", "status", "created_at")
SESSION_COLUMNS = (
    "id",
    "candidate_email",
    "candidate_name",
    "template",
    "status",
    "end_reason",
    "created_at",
    "started_at",
    "ended_at",
    "duration_seconds",
    "decision",
    "decided_at",
    "ai_rating",
    "ai_recommendation",
)


def export_allowed(membership) -> bool:
    """Whether the console user with ``membership`` may export (None: an operator, or no
    tenant chosen)."""
    return membership is not None and membership.role in EXPORT_ROLES


def _iso(moment) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


#: What makes a spreadsheet read a cell as a formula, after any leading blanks (ASCII and the
#: full-width forms some spreadsheets also accept).
_FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")


def _cell(value) -> str:
    # A cell a spreadsheet would read as a formula is written as text: a candidate's name must
    # not run as code on a recruiter's machine. Leading spaces, tabs and line breaks do not
    # stop a spreadsheet from reading one, so they do not stop the guard either.
    text = "" if value is None else str(value)
    if text[:1] in {"\t", "\r", "\n"} or text.lstrip()[:1] in _FORMULA_STARTS:
        return "'" + text
    return text


def _candidate_rows(candidates) -> Iterator[tuple]:
    for c in candidates:
        yield (c.pk, c.email, c.full_name, c.external_id, c.status, _iso(c.created_at))


def _session_rows(sessions) -> Iterator[tuple]:
    for s in sessions:
        summary = getattr(s, "summary", None)
        yield (
            s.pk,
            s.candidate.email,
            s.candidate.full_name,
            s.template.title if s.template_id else "",
            s.status,
            s.end_reason,
            _iso(s.created_at),
            _iso(s.started_at),
            _iso(s.ended_at),
            s.duration_seconds if s.duration_seconds is not None else "",
            s.decision,
            _iso(s.decided_at),
            summary.overall_rating if summary and summary.overall_rating is not None else "",
            summary.recommendation if summary else "",
        )


def _export(*, kind: str, membership, actor, queryset, columns, rows) -> list[str]:
    if not export_allowed(membership):
        raise PermissionDenied("Exports are for owners, admins and recruiters.")
    if not network_allowed(membership.tenant, requestcontext.client_ip.get()):
        raise PermissionDenied("Exports are not available from this network.")
    queryset = queryset.filter(tenant_id=membership.tenant_id)
    # One row over the cap tells a selection that is too large from one that fits exactly.
    selected = list(queryset[: EXPORT_MAX_ROWS + 1])
    if len(selected) > EXPORT_MAX_ROWS:
        raise ValidationError(
            f"An export holds at most {EXPORT_MAX_ROWS:,} rows: narrow the list with its "
            "filters or search, then export again."
        )
    audit_record(
        action=f"export.{kind}",
        tenant_id=membership.tenant_id,
        actor=actor,
        details={"rows": len(selected), "columns": list(columns)},
    )
    return list(_csv_lines([columns, *rows(selected)]))


def _csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    buffer = StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def candidates_export(*, membership, actor, candidates) -> list[str]:
    """The CSV lines (header first) of the ``candidates`` selected in ``membership``'s tenant,
    recorded as ``export.candidates``. Raises PermissionDenied for a viewer, an operator or a
    refused network, ValidationError for more than EXPORT_MAX_ROWS rows."""
    return _export(
        kind="candidates",
        membership=membership,
        actor=actor,
        queryset=candidates.order_by("created_at", "pk"),
        columns=CANDIDATE_COLUMNS,
        rows=_candidate_rows,
    )


def sessions_export(*, membership, actor, sessions) -> list[str]:
    """The CSV lines (header first) of the interview ``sessions`` selected, as
    ``candidates_export`` (``export.sessions``)."""
    return _export(
        kind="sessions",
        membership=membership,
        actor=actor,
        queryset=sessions.select_related("candidate", "template", "summary").order_by(
            "created_at", "pk"
        ),
        columns=SESSION_COLUMNS,
        rows=_session_rows,
    )
