"""``scripts/chaos --runs N --faults all|name,name [--seed S] [--write docs/reliability.md]
[--json FILE]``"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
from dataclasses import asdict
from pathlib import Path

from .faults import FAULTS
from .report import header, table, write
from .run import Harness


def main() -> int:
    parser = argparse.ArgumentParser(description="Fault injection against a platform of its own.")
    parser.add_argument("--runs", type=int, default=1, help="runs of each fault")
    parser.add_argument("--faults", default="all", help="all, or names: " + ", ".join(FAULTS))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--write", help="put the results in this Markdown file")
    parser.add_argument("--json", help="and the runs, as JSON, in this file")
    parser.add_argument("--pg-port", type=int, default=None)
    parser.add_argument("--redis-port", type=int, default=None)
    args = parser.parse_args()
    names = list(FAULTS) if args.faults == "all" else args.faults.split(",")
    unknown = [name for name in names if name not in FAULTS]
    if unknown:
        parser.error(f"unknown faults: {', '.join(unknown)}")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    faults = [FAULTS[name] for name in names]
    results = []
    # Stopped (SIGTERM), it still stops the platform it started: no servers left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with Harness(seed=seed, pg_port=args.pg_port, redis_port=args.redis_port) as harness:
        order = [fault for _ in range(args.runs) for fault in faults]
        for number, fault in enumerate(order, 1):
            result = harness.run(fault)
            results.append(result)
            verdict = "clean" if result.clean else "FAILED: " + "; ".join(result.problems)
            print(
                f"[{number}/{len(order)}] {fault.name}: struck {result.struck_at}; session "
                f"{result.outcome}; {result.seconds:.0f} s; {verdict}",
                flush=True,
            )
            if not result.clean:
                print(harness.platform.log_tail(3000), file=sys.stderr, flush=True)
            # After every run: a long series stopped early still leaves its table.
            save(args, seed, results, faults)
    print(header(seed) + "\n\n" + table(results, faults))
    return 0 if all(r.clean for r in results) else 1


def save(args, seed, results, faults) -> None:
    if args.write:
        write(args.write, header(seed) + "\n\n" + table(results, faults))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1))


if __name__ == "__main__":
    sys.exit(main())
