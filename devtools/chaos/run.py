"""One fault-injection run, and the harness that holds the platform between runs: a fresh
session, the candidate talking to the interviewer, the fault at a random moment, then the
checks."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from dataclasses import dataclass, field

from . import checks
from .candidate import Candidate
from .faults import FAULTS, Fault
from .platform import Platform
from .simulated import LoopThread, RecordingSimulator, ServedSimulator

logger = logging.getLogger("devtools.chaos")

# A slow summary, so that the Celery worker is killed while it waits for it.
SUMMARY_SECONDS = 4.0
# The environment the platform runs with here: the summary of a two-answer interview is due,
# and its claim, backoff and sweep are short enough for a run to see the summary written after
# the worker died (production keeps longer ones; docs/reliability.md says why).
CHAOS_ENV = {
    "SUMMARY_MIN_CANDIDATE_TURNS": "1",
    "SUMMARY_MIN_CANDIDATE_CHARS": "1",
    "SUMMARY_TIMEOUT_SECONDS": "10",
    "SUMMARY_CONNECT_TIMEOUT_SECONDS": "2",
    "SUMMARY_RETRY_BACKOFF_MAX_SECONDS": "5",
    "SUMMARY_BREAKER_COOLDOWN_SECONDS": "5",
    "SUMMARY_SWEEP_SECONDS": "5",
    "SESSION_HEARTBEAT_TIMEOUT_SECONDS": "60",
}


@dataclass
class RunResult:
    fault: str
    problems: list[str] = field(default_factory=list)
    outcome: str = ""
    struck_at: str = ""
    seconds: float = 0.0
    calls: int = 0

    @property
    def clean(self) -> bool:
        return not self.problems


class Harness:
    """The simulator (in this process), the platform (servers and processes of its own) and
    the interviews; ``run(fault)`` holds one interview with one fault."""

    def __init__(self, *, seed: int | None = None, pg_port=None, redis_port=None):
        self.random = random.Random(seed)
        self.thread = LoopThread()
        self.simulator = RecordingSimulator(summary_seconds=SUMMARY_SECONDS)
        self.served = ServedSimulator(self.simulator, self.thread)
        self.platform = Platform(
            self.served.base_url, pg_port=pg_port, redis_port=redis_port, extra_env=CHAOS_ENV
        )
        self.interviews = None

    def start(self) -> None:
        self.platform.start()
        os.environ.update(self.platform.env)
        import django

        django.setup()
        # This process's own WebRTC peers (the simulator's, the candidates') are not the
        # subject: their connection chatter stays out of the output.
        for name in ("aioice", "aiortc", "devtools", "interviews.simulator"):
            logging.getLogger(name).setLevel(logging.WARNING)
        from .interview import Interviews

        self.interviews = Interviews()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        self.platform.stop()
        self.served.close()
        self.thread.stop()

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- a run --------------------------------------------------------------------------------

    def run(self, fault: Fault | str | None) -> RunResult:
        fault = FAULTS[fault] if isinstance(fault, str) else fault
        result = RunResult(fault.name if fault else "none")
        began = time.monotonic()
        self._healthy()
        session_id, token = self.interviews.session()
        first_call = len(self.simulator.history)
        summaries_before = self.simulator.summary_requests
        self.simulator.summary_arrived.clear()
        candidate = Candidate(self.platform.base_url, session_id, token)
        running = self.thread.submit(candidate.run(give_up_after=200))
        try:
            if fault is not None:
                result.struck_at = self._strike(fault, candidate, running, summaries_before)
            running.result(260)
            checks.wait_settled(session_id, timeout=60, summary_timeout=150)
        finally:
            if not running.done():
                running.cancel()
        calls = self.simulator.history[first_call:]
        result.calls = len(calls)
        result.problems = candidate.errors + checks.problems(session_id, calls)
        result.problems += [f"process {name} exited" for name in self.platform.crashed()]
        result.outcome = checks.outcome(session_id)
        result.seconds = time.monotonic() - began
        return result

    def _strike(self, fault: Fault, candidate: Candidate, running, summaries_before) -> str:
        """Wait for the fault's moment and strike; says when it struck."""
        if fault.during_summary:
            # While the worker waits for the (slow) summary: somewhere inside that wait.
            if not self._wait(lambda: self.simulator.summary_requests > summaries_before, 240):
                return "never (no summary was asked for)"
            time.sleep(self.random.uniform(0.2, SUMMARY_SECONDS * 0.7))
            fault.strike(self.platform)
            return "while the summary was written"
        # Inside the interview: after the interviewer's nth line (0: once the call is up),
        # plus up to a second and a half.
        lines = self.random.randint(0, 2)
        delay = self.random.uniform(0, 1.5)
        self._wait(lambda: candidate.opened.is_set() or running.done(), 60)
        self._wait(lambda: candidate.lines_heard >= lines or running.done(), 90)
        time.sleep(delay)
        ended = running.done() or candidate.ended.is_set()
        fault.strike(self.platform)
        where = f"after line {lines} + {delay:.1f} s"
        return where + (" (the interview had ended)" if ended else "")

    @staticmethod
    def _wait(condition, timeout: float) -> bool:
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if condition():
                return True
            time.sleep(0.05)
        return False

    def _healthy(self) -> None:
        """The platform as a run finds it: every process up (restarted after a crash, which
        the run that crashed it has reported), the web process answering."""
        for name in self.platform.crashed():
            self.platform.spawn(name)
        self.platform.wait_web(60)
