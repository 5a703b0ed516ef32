"""Fault injection, the short version: one run of each fault of ``scripts/chaos`` (see
docs/reliability.md), against a platform the harness starts for itself - its own PostgreSQL
cluster and Redis, daphne, the realtime worker, a Celery worker and beat - with a headless
candidate talking to the simulator. Each run is checked against the simulator's own record of
what was said: no transcript entry lost or duplicated, the conversation's order kept, the
session ended (never stuck live), the summary written exactly once.

The harness runs in a process of its own (it configures Django for its platform, not for the
test database); the platform is started once for the module, each fault gets a fresh
session."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.chaos.faults import FAULTS

BASE = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    results = tmp_path_factory.mktemp("chaos") / "runs.json"
    command = [sys.executable, "-m", "devtools.chaos", "--runs", "1", "--faults", "all"]
    done = subprocess.run(
        [*command, "--seed", "17", "--json", str(results)],
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if not results.exists():
        pytest.fail(f"the harness did not finish:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {run["fault"]: run for run in json.loads(results.read_text())}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_interview_survives_the_fault_with_nothing_lost(runs, fault):
    run = runs[fault]
    assert run["problems"] == [], f"{fault} (struck {run['struck_at']}): {run['problems']}"
