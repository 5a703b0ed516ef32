"""The model's answer made into the summary's fields: checked against the schema again, each
evidence quote looked up in what the candidate said, one entry per rubric criterion."""

from __future__ import annotations

from decimal import Decimal

from jsonschema import Draft202012Validator

from .client import StructuredAnswer, UnusableAnswer
from .evidence import Evidence
from .prompt import PROMPT_VERSION, SCALE_MAX, SCALE_MIN, SummaryMaterial, summary_schema

MAX_POINTS = 10  # strengths, concerns
MAX_POINT_CHARS = 500
MAX_RATIONALE_CHARS = 1000
MAX_SUMMARY_CHARS = 5000


def _validated(data: dict, schema: dict) -> dict:
    errors = list(Draft202012Validator(schema).iter_errors(data))
    if errors:
        raise UnusableAnswer("The model's answer did not follow the summary's schema.")
    return data


def _points(values) -> list[str]:
    points = [" ".join(str(v).split())[:MAX_POINT_CHARS] for v in values or []]
    return [p for p in points if p][:MAX_POINTS]


def _rating(value) -> Decimal:
    rating = min(max(float(value), SCALE_MIN), SCALE_MAX)
    return Decimal(str(round(rating, 1)))


def summary_fields(answer: StructuredAnswer, material: SummaryMaterial) -> dict:
    """The summary's fields from the model's answer: checked against the schema, every
    evidence quote looked up in what the candidate said (a quote that is not there is
    dropped and counted), one entry per rubric criterion in the rubric's order."""
    data = _validated(answer.data, summary_schema(material.criteria))
    evidence = Evidence(material.candidate_lines)
    given: dict[str, dict] = {}
    for entry in data["criteria"]:
        given.setdefault(entry["criterion"], entry)
    rubric = material.criteria or []
    names = [c.name for c in rubric] if rubric else list(given)
    weights = {c.name: c.weight for c in rubric}
    scores, dropped = [], 0
    for name in dict.fromkeys(names):
        entry = given.get(name) or {
            "score": None,
            "rationale": "Not assessed in the summary.",
            "evidence": [],
        }
        quotes, missing = evidence.keep(entry["evidence"])
        dropped += missing
        scores.append(
            {
                "criterion": name,
                "weight": f"{weights[name].normalize():f}" if name in weights else "",
                "score": entry["score"],
                "rationale": entry["rationale"].strip()[:MAX_RATIONALE_CHARS],
                "evidence": quotes,
                "quotes_dropped": missing,
            }
        )
    return {
        "summary": data["summary"].strip()[:MAX_SUMMARY_CHARS],
        "strengths": _points(data["strengths"]),
        "concerns": _points(data["concerns"]),
        "criterion_scores": scores,
        "overall_rating": _rating(data["overall_rating"]),
        "recommendation": data["recommendation"],
        "model": answer.model,
        "prompt_version": PROMPT_VERSION,
        "token_usage": answer.usage,
        "quotes_dropped": dropped,
    }
