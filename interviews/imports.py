"""Bulk import of candidates from a CSV file (email, name, external id)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from tenants.models import Tenant
from tenants.services import audit_record

from .models import Candidate
from .services import candidate_create, candidate_update, normalize_email

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
COLUMN_ALIASES = {
    "email": "email",
    "e-mail": "email",
    "name": "full_name",
    "full_name": "full_name",
    "full name": "full_name",
    "external_id": "external_id",
    "external id": "external_id",
    "id": "external_id",
}


@dataclass
class ImportRow:
    line: int
    email: str
    outcome: str  # created | updated | unchanged | rejected
    reason: str = ""


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def summary(self) -> dict[str, int]:
        return {o: self.count(o) for o in ("created", "updated", "unchanged", "rejected")}


class ImportFileError(ValidationError):
    """The file as a whole cannot be imported (too big, not CSV, no email column); nothing in
    it is imported."""


def _read(data: bytes) -> tuple[list[str], list[list[str]]]:
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file is not UTF-8 text. Export it as CSV (UTF-8).") from exc
    if "\x00" in text:  # PostgreSQL stores no NUL; no spreadsheet's CSV export has one
        raise ImportFileError("The file contains NUL characters. Export it as CSV (UTF-8).")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = list(reader)
    except csv.Error as exc:  # a field over csv.field_size_limit(), a stray quote...
        raise ImportFileError(
            f"Line {reader.line_num} cannot be read as CSV ({exc}); nothing was imported."
        ) from exc
    if not rows:
        raise ImportFileError("The file is empty.")
    header = [COLUMN_ALIASES.get(h.strip().lower(), "") for h in rows[0]]
    if "email" not in header:
        raise ImportFileError('The first row must name the columns, including "email".')
    body = rows[1:]
    if len(body) > MAX_ROWS:
        raise ImportFileError(f"The file has more than {MAX_ROWS} rows; split it.")
    return header, body


def candidates_import_csv(*, tenant: Tenant, data: bytes, actor) -> ImportReport:
    """Create or update the tenant's candidates from CSV ``data``, matched by email. Each row
    succeeds or fails on its own (a rejected row changes nothing); the report says what
    happened to every row and why."""
    header, body = _read(data)
    report = ImportReport()
    seen: set[str] = set()
    for line, values in enumerate(body, start=2):
        if not any(v.strip() for v in values):
            continue
        record = {key: values[i].strip() for i, key in enumerate(header) if key and i < len(values)}
        email = normalize_email(record.get("email", ""))
        try:
            validate_email(email)
        except ValidationError:
            report.rows.append(ImportRow(line, email, "rejected", "not a valid email address"))
            continue
        if email in seen:
            report.rows.append(ImportRow(line, email, "rejected", "email repeated in the file"))
            continue
        seen.add(email)
        report.rows.append(_import_row(tenant, line, email, record, actor))
    audit_record(action="candidates.imported", tenant=tenant, actor=actor, details=report.summary)
    return report


def _import_row(tenant, line, email, record, actor) -> ImportRow:
    changes = {k: record[k] for k in ("full_name", "external_id") if record.get(k)}
    if len(changes.get("full_name", "")) > 200 or len(changes.get("external_id", "")) > 128:
        return ImportRow(line, email, "rejected", "name or external id too long")
    try:
        with transaction.atomic():
            existing = Candidate.objects.filter(tenant=tenant, email=email).first()
            if existing is None:
                candidate_create(tenant=tenant, email=email, actor=actor, **changes)
                return ImportRow(line, email, "created")
            before = (existing.full_name, existing.external_id)
            candidate_update(candidate=existing, actor=actor, changes=changes)
            if (existing.full_name, existing.external_id) == before:
                return ImportRow(line, email, "unchanged")
            return ImportRow(line, email, "updated")
    except ValidationError as error:
        return ImportRow(line, email, "rejected", "; ".join(error.messages))
