"""The simulator's Responses API (``POST /v1/responses``) for the platform's interview
summaries, so a summary appears after a local interview without an API key.

It answers as OpenAI's does - a ``response`` object whose ``output`` holds a message with an
``output_text`` part, ``usage``, ``model``, ``status`` - and keeps to the structured-output
rules the real service enforces on the request (a strict ``json_schema`` format whose objects
all list every property as required and allow no others), so a schema the real service would
refuse is refused here too.

It does not understand the interview. The answer is derived, deterministically, from the
transcript in the request (its ``[n] Candidate: ...`` lines) and the rubric criteria named
in the schema: each criterion's evidence is a real sentence of the candidate's, taken word for
word; scores follow how many answers the candidate gave; the summary says it is simulated.
"""

from __future__ import annotations

import hashlib
import json
import re

from aiohttp import web

_CANDIDATE_LINE = re.compile(r"^\[\d+\] Candidate: (.+)$", re.M)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# What OpenAI's strict mode accepts in a schema (a subset of JSON Schema).
_STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "description",
        "anyOf",
        "$defs",
        "$ref",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "pattern",
        "format",
        "title",
    }
)


def _error(status: int, code: str, message: str, param: str | None = None):
    return web.json_response(
        {
            "error": {
                "type": "invalid_request_error",
                "code": code,
                "message": message,
                "param": param,
            }
        },
        status=status,
    )


def strict_schema_problems(schema, path: str = "schema") -> list[str]:
    """Where ``schema`` breaks OpenAI's strict structured-output rules."""
    problems = []
    if not isinstance(schema, dict):
        return [f"{path}: not an object"]
    for key in schema:
        if key not in _STRICT_KEYWORDS:
            problems.append(f"{path}: '{key}' is not supported")
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types:
        properties = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties must be false")
        if sorted(schema.get("required") or []) != sorted(properties):
            problems.append(f"{path}: every property must be required")
        for name, sub in properties.items():
            problems += strict_schema_problems(sub, f"{path}.{name}")
    if "array" in types and "items" in schema:
        problems += strict_schema_problems(schema["items"], f"{path}[]")
    for i, sub in enumerate(schema.get("anyOf") or []):
        problems += strict_schema_problems(sub, f"{path}.anyOf[{i}]")
    return problems


def _input_text(value) -> str:
    """The text of the request's ``input``: a string, or messages of ``input_text`` parts."""
    if isinstance(value, str):
        return value
    texts = []
    for message in value or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "input_text":
                texts.append(part.get("text") or "")
    return "\n".join(texts)


def _candidate_sentences(text: str) -> tuple[list[str], int]:
    lines = [line.strip() for line in _CANDIDATE_LINE.findall(text)]
    sentences = [s.strip() for line in lines for s in _SENTENCE_END.split(line) if s.strip()]
    return sentences, len(lines)


def _criteria(schema: dict) -> list[str]:
    item = schema.get("properties", {}).get("criteria", {}).get("items", {})
    return list(item.get("properties", {}).get("criterion", {}).get("enum") or [])


def _recommendation(rating: float) -> str:
    for floor, label in ((4.5, "strong_yes"), (3.5, "yes"), (2.5, "mixed"), (1.5, "no")):
        if rating >= floor:
            return label
    return "strong_no"


def simulated_summary(text: str, schema: dict) -> dict:
    """The summary for the interview in ``text``, in the shape of ``schema``."""
    sentences, answers = _candidate_sentences(text)
    words = sum(len(s.split()) for s in sentences)
    base = min(5, 1 + answers)  # one point per answer given, as a stand-in for judgement
    criteria = []
    for i, name in enumerate(_criteria(schema)):
        quote = sentences[i % len(sentences)] if sentences else None
        criteria.append(
            {
                "criterion": name,
                "score": max(1, base - i % 2) if quote else None,
                "rationale": "Simulated: the score follows how many questions were answered."
                if quote
                else "The candidate said nothing to judge this by.",
                "evidence": [quote] if quote else [],
            }
        )
    scored = [c["score"] for c in criteria if c["score"] is not None]
    rating = round(sum(scored) / len(scored), 1) if scored else float(base if answers else 1)
    return {
        "summary": f"Simulated summary: the candidate answered {answers} time(s), {words} "
        "words in all. The local simulator does not understand the interview; this only shows "
        "where a real summary appears.",
        "strengths": [f"Gave {answers} answer(s)."] if answers else [],
        "concerns": [] if answers >= 3 else ["Few answers to judge from."],
        "criteria": criteria,
        "overall_rating": rating,
        "recommendation": _recommendation(rating),
    }


async def create_response(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "invalid_json", "The body must be JSON.")
    if not isinstance(body, dict) or not body.get("model"):
        return _error(400, "missing_required_parameter", "Missing 'model'.", "model")
    text_format = (body.get("text") or {}).get("format") or {}
    if text_format.get("type") != "json_schema" or not isinstance(text_format.get("schema"), dict):
        return _error(
            400,
            "unsupported_format",
            "The simulator answers structured output (text.format json_schema) only.",
            "text.format",
        )
    if text_format.get("strict"):
        problems = strict_schema_problems(text_format["schema"])
        if problems:
            return _error(400, "invalid_json_schema", "; ".join(problems[:5]), "text.format")
    text = _input_text(body.get("input"))
    answer = json.dumps(simulated_summary(text, text_format["schema"]))
    digest = hashlib.sha256(text.encode()).hexdigest()
    input_tokens = (len(text) + len(body.get("instructions") or "")) // 4
    output_tokens = len(answer) // 4
    return web.json_response(
        {
            "id": f"resp_{digest[:24]}",
            "object": "response",
            "status": "completed",
            "model": str(body["model"]),
            "output": [
                {
                    "id": f"msg_{digest[24:48]}",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": answer, "annotations": []}],
                }
            ],
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
        }
    )
