"""The runs x faults table, printed and written into docs/reliability.md (between markers, as
scripts/benchlib.write_results does for docs/benchmarks.md)."""

from __future__ import annotations

import datetime
import os
import platform as host
import re
from collections import defaultdict
from pathlib import Path

GOAL_RUNS = 20


def table(results, faults) -> str:
    by_fault = defaultdict(list)
    for result in results:
        by_fault[result.fault].append(result)
    lines = [
        "| fault | what | runs | clean | goal | result |",
        "|---|---|---|---|---|---|",
    ]
    for fault in faults:
        runs = by_fault.get(fault.name, [])
        clean = sum(r.clean for r in runs)
        verdict = (
            "met"
            if runs and clean == len(runs) and len(runs) >= GOAL_RUNS
            else (
                "all clean, fewer runs than the goal" if runs and clean == len(runs) else "NOT MET"
            )
        )
        lines.append(
            f"| `{fault.name}` | {fault.what} | {len(runs)} | {clean} | "
            f"{GOAL_RUNS} of {GOAL_RUNS} clean | {verdict} |"
        )
    lines += [
        "",
        "| run | fault | struck | session | calls | seconds | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, result in enumerate(results, 1):
        verdict = "clean" if result.clean else "FAILED: " + "; ".join(result.problems)
        lines.append(
            f"| {number} | `{result.fault}` | {result.struck_at} | {result.outcome} | "
            f"{result.calls} | {result.seconds:.0f} | {verdict.replace('|', '/')} |"
        )
    return "\n".join(lines)


def header(seed) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {now} on {host.node()} ({os.cpu_count()} CPUs, Python "
        f"{host.python_version()}), seed {seed}; the machine was shared with other work."
    )


def write(path: str, text: str) -> None:
    start, end = "<!-- chaos-results:start -->", "<!-- chaos-results:end -->"
    block = f"{start}\n{text}\n{end}"
    document = Path(path).read_text() if Path(path).exists() else ""
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(document):
        document = pattern.sub(lambda _: block, document)
    else:
        document = document.rstrip("\n") + "\n\n" + block + "\n"
    Path(path).write_text(document)
