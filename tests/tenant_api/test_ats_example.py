"""The integrator's walk-through, run for real: docs/examples/ats_client.py (httpx only)
against the running platform creates a candidate, invites them, and - once the interview
ended and its AI summary was written - receives the signed summary.ready webhook and reads
the session with its summary through the API."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import rls
from interviews import services
from invitations.models import InterviewInvitation
from tests.factories import CandidateFactory
from tests.support.responses import ok
from tests.support.summaries import good_answer, interview, upstream  # noqa: F401
from tests.tenant_api.support import make_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.summaries]

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ats_client.py"


def test_an_ats_invites_a_candidate_and_reads_the_summary_from_a_webhook(
    live_server,
    tenant_a,
    upstream,  # noqa: F811
    settings,
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the script listens on 127.0.0.1
    upstream.then(ok(good_answer))
    candidate = CandidateFactory(tenant=tenant_a, email="ada@example.com", external_id="ats-1842")
    session = interview(tenant_a, candidate=candidate)  # the interview the candidate will take
    caller = make_client(tenant_a)
    script = subprocess.Popen(
        [
            sys.executable,
            str(SCRIPT),
            "--base",
            live_server.url,
            "--client-id",
            caller.client_id,
            "--client-secret",
            caller.secret,
            "--email",
            "ada@example.com",
            "--external-id",
            "ats-1842",
            "--template",
            str(session.template_id),
            "--timeout",
            "60",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        invited = script.stdout.readline()
        assert invited.startswith(f"invited {candidate.pk}"), script.stderr.read()
        with rls.tenant_context(tenant_a.pk):
            assert InterviewInvitation.objects.filter(candidate=candidate).count() == 1
            # The interview ends; its summary is written and announced once this commits.
            services.session_end(session=session, reason="interview_complete")
        out, err = script.communicate(timeout=60)
    finally:
        script.kill()
    assert script.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["session"]["id"] == str(session.pk)
    assert result["session"]["status"] == "completed"
    assert result["summary"]["recommendation"] == "yes"
    assert result["summary"]["summary"].startswith("Built and ran")
