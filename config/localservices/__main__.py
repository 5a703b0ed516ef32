"""``python -m config.localservices run|test [args]``."""

from __future__ import annotations

import sys

from .launch import run
from .suite import test


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print("usage: python -m config.localservices run|test [args]", file=sys.stderr)
        return 2
    command, argv = sys.argv[1], sys.argv[2:]
    return run(argv) if command == "run" else test(argv)


if __name__ == "__main__":
    sys.exit(main())
