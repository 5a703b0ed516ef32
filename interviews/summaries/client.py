"""OpenAI's Responses API with structured output: ``POST {OPENAI_BASE_URL}/responses`` with a
strict JSON schema, answered by ``output[].content[]`` items of type ``output_text``. The
local simulator (devtools.simulator) serves the same route, so the same code runs against
either - only OPENAI_BASE_URL differs.

Failures are sorted by what to do about them: ``transient`` ones (5xx, 429, a timeout, no
connection) are worth asking again after a wait; the rest are not. ``outage`` says whether
the failure says something about the service (the circuit breaker counts those) rather than
about this one request. Messages never carry the service's own error text, which can quote
the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx
from django.conf import settings

from core.upstream import MISCONFIGURED_CODES, MISCONFIGURED_STATUSES, retry_after_seconds


class SummaryServiceError(Exception):
    """The AI service did not give us a usable answer. ``str()`` is safe to show."""

    transient = False  # asking again later may help
    outage = True  # says something about the service, not about this request
    retry_after: float | None = None  # seconds the service asked us to wait


class ServiceRejected(SummaryServiceError):
    """The service answered with an error status."""

    def __init__(self, status: int, code: str, retry_after: float | None = None):
        self.status, self.code, self.retry_after = status, code or "error", retry_after
        super().__init__(f"The AI service answered {status} ({self.code}).")

    @property
    def misconfigured(self) -> bool:
        """The platform's account or setup is at fault (key, access, model, quota)."""
        return self.status in MISCONFIGURED_STATUSES or self.code in MISCONFIGURED_CODES

    @property
    def transient(self) -> bool:
        if self.misconfigured:
            return False
        return self.status in {408, 409, 429} or self.status >= 500

    @property
    def outage(self) -> bool:
        # A 400 refusing this one request (too long, say) is not the service failing.
        return self.transient or self.misconfigured


class ServiceTimeout(SummaryServiceError):
    transient = True

    def __init__(self):
        super().__init__("The AI service did not answer in time.")


class ServiceUnreachable(SummaryServiceError):
    transient = True

    def __init__(self, reason: str):
        super().__init__(f"Could not reach the AI service ({reason}).")


class UnusableAnswer(SummaryServiceError):
    """The service answered, but not with the structured summary asked for (a refusal, an
    answer cut short, text that is not the schema's JSON)."""

    outage = False


@dataclass(frozen=True)
class StructuredAnswer:
    data: dict
    model: str
    usage: dict
    response_id: str


def _output_text(body: dict) -> str:
    """The answer's text: the ``output_text`` parts of its message items, in order."""
    texts, refusals = [], []
    for item in body.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue  # reasoning items and the like
        for part in item.get("content") or []:
            if part.get("type") == "output_text":
                texts.append(part.get("text") or "")
            elif part.get("type") == "refusal":
                refusals.append(part.get("refusal") or "")
    if refusals and not texts:
        raise UnusableAnswer("The model declined to write the summary.")
    return "".join(texts)


def _usage(body: dict) -> dict:
    usage = body.get("usage") or {}
    kept = {
        key: usage[key]
        for key in ("input_tokens", "output_tokens", "total_tokens")
        if isinstance(usage.get(key), int)
    }
    reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens")
    if isinstance(reasoning, int):
        kept["reasoning_tokens"] = reasoning
    return kept


class ResponsesClient:
    """A small synchronous client (workers run one summary at a time per process)."""

    def __init__(self, *, base_url: str, api_key: str, timeout: float, connect_timeout: float):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
        )

    def close(self) -> None:
        self._client.close()

    def structured(
        self,
        *,
        model: str,
        instructions: str,
        text: str,
        schema_name: str,
        schema: dict,
        max_output_tokens: int,
    ) -> StructuredAnswer:
        """Ask ``model`` for an answer in the strict JSON ``schema``; the answer parsed."""
        payload = {
            "model": model,
            "instructions": instructions,
            "input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}],
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": schema_name,
                    "schema": schema,
                    "strict": True,
                }
            },
            "max_output_tokens": max_output_tokens,
            # Interview transcripts are personal data: not kept by the service for later
            # retrieval (it keeps nothing we would use).
            "store": False,
        }
        try:
            response = self._client.post(f"{self.base_url}/responses", json=payload)
        except httpx.TimeoutException as exc:
            raise ServiceTimeout() from exc
        except httpx.HTTPError as exc:
            raise ServiceUnreachable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise ServiceRejected(
                response.status_code,
                _error_code(response),
                retry_after=retry_after_seconds(response.headers),
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise UnusableAnswer("The AI service's answer was not JSON.") from exc
        if not isinstance(body, dict):
            raise UnusableAnswer("The AI service's answer was not a response object.")
        if body.get("status") not in (None, "completed"):
            reason = (body.get("incomplete_details") or {}).get("reason") or body.get("status")
            raise UnusableAnswer(f"The AI service did not finish the summary ({reason}).")
        try:
            data = json.loads(_output_text(body))
        except ValueError as exc:
            raise UnusableAnswer("The model's answer was not the summary's JSON.") from exc
        if not isinstance(data, dict):
            raise UnusableAnswer("The model's answer was not the summary's JSON.")
        return StructuredAnswer(
            data=data,
            model=str(body.get("model") or model)[:64],
            usage=_usage(body),
            response_id=str(body.get("id") or "")[:128],
        )


def _error_code(response: httpx.Response) -> str:
    # The code only (OpenAI's JSON error), never its message, which can quote the key.
    try:
        error = response.json().get("error") or {}
        return str(error.get("code") or error.get("type") or "")[:64]
    except (ValueError, AttributeError):
        return ""


_client: tuple[tuple, ResponsesClient] | None = None


def get_client() -> ResponsesClient:
    """The configured client, reused (with its connections) while the settings stay."""
    global _client
    key = (
        settings.OPENAI_BASE_URL,
        settings.OPENAI_API_KEY,
        settings.SUMMARY_TIMEOUT_SECONDS,
        settings.SUMMARY_CONNECT_TIMEOUT_SECONDS,
    )
    if _client is None or _client[0] != key:
        if _client is not None:
            _client[1].close()
        _client = (
            key,
            ResponsesClient(
                base_url=settings.OPENAI_BASE_URL,
                api_key=settings.OPENAI_API_KEY or "simulator",
                timeout=settings.SUMMARY_TIMEOUT_SECONDS,
                connect_timeout=settings.SUMMARY_CONNECT_TIMEOUT_SECONDS,
            ),
        )
    return _client[1]
