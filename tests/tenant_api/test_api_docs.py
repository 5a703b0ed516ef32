"""docs/api.md's examples work as written: its sh blocks, in order, run with curl and jq
against the running platform."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core import mail

from core import rls
from interviews.models import Candidate
from invitations.models import InterviewInvitation
from tests.factories import CandidateFactory, TemplateFactory
from tests.tenant_api.support import make_client
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_walkthrough_runs_as_written(live_server, tenant_a):
    missing = [tool for tool in ("curl", "jq") if shutil.which(tool) is None]
    assert not missing, f"scripts/test installs {missing} (apt-get); install them to run this"
    TemplateFactory(tenant=tenant_a)
    CandidateFactory(tenant=tenant_a, email="grace@example.com")  # a second page to follow
    caller = make_client(tenant_a)
    blocks = sh_blocks()
    assert len(blocks) >= 6
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(blocks)],
        env={
            **os.environ,
            "BASE": live_server.url,
            "CLIENT_ID": caller.client_id,
            "CLIENT_SECRET": caller.secret,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.split()
    assert lines[0].startswith("whsec_")  # the endpoint's secret, once
    assert sorted(lines[-2:]) == ["ada@example.com", "grace@example.com"]  # both pages
    with rls.tenant_context(tenant_a.pk):
        ada = Candidate.objects.get(external_id="ats-1842")
        assert ada.full_name == "Ada Lovelace"
        assert InterviewInvitation.objects.filter(candidate=ada).count() == 1  # idempotent
        assert WebhookEndpoint.objects.get().url == "https://ats.example.com/hooks/interviews"
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
