"""Interview templates and their parts (questions, rubric criteria), audited."""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction

from tenants.services import audit_record

from ..models import InterviewTemplate, RubricCriterion, TemplateQuestion


@transaction.atomic
def template_save(
    *, template: InterviewTemplate, actor, changed_fields: list[str] | None = None
) -> InterviewTemplate:
    """Create or update a template (its questions and rubric: ``template_parts_save``)."""
    creating = template._state.adding
    template.full_clean(exclude=["tenant", "created_by"])
    if creating:
        template.created_by = actor if getattr(actor, "is_authenticated", False) else None
        template.save(force_insert=True)
    elif changed_fields:
        template.save(update_fields=[*changed_fields, "updated_at"])
    else:
        return template
    audit_record(
        action="template.created" if creating else "template.changed",
        tenant_id=template.tenant_id,
        actor=actor,
        target=template,
        details={} if creating else {"fields": sorted(changed_fields or [])},
    )
    return template


#: How the audit trail names a template's parts.
_TEMPLATE_PART_NAMES = {TemplateQuestion: "question", RubricCriterion: "criterion"}


@transaction.atomic
def template_parts_save(
    *,
    template: InterviewTemplate,
    actor,
    added: Collection[tuple[TemplateQuestion | RubricCriterion, list[str]]] = (),
    changed: Collection[tuple[TemplateQuestion | RubricCriterion, list[str]]] = (),
    deleted: Collection[TemplateQuestion | RubricCriterion] = (),
) -> None:
    """Save the template's questions and rubric criteria as the console's form left them:
    each ``(part, names of the fields set or changed)``. Each is audited on the template
    (``template.question_added``, ``..._changed``, ``..._deleted``, likewise ``criterion``)
    with the part's id and the field names, never the text."""
    for part in deleted:
        _template_part_audit(template, part, "deleted", actor=actor)
        part.delete()
    for part, fields in [*added, *changed]:
        creating = part._state.adding
        if not (creating or fields):
            continue
        part.template, part.tenant_id = template, template.tenant_id
        part.full_clean(exclude=["tenant", "template"])
        if creating:
            part.save(force_insert=True)
        else:
            part.save(update_fields=fields)
        _template_part_audit(
            template, part, "added" if creating else "changed", actor=actor, fields=fields
        )


def _template_part_audit(template, part, what: str, *, actor, fields=()) -> None:
    name = _TEMPLATE_PART_NAMES[type(part)]
    details: dict = {name: str(part.pk)}
    if fields:
        details["fields"] = sorted(fields)
    audit_record(
        action=f"template.{name}_{what}",
        tenant_id=template.tenant_id,
        actor=actor,
        target=template,
        details=details,
    )
