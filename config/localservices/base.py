"""What every launcher command shares: the project's paths, the interpreter, printing a line
and running manage.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
EMBEDDED_DIR = Path(os.environ.get("EMBEDDED_DIR") or BASE_DIR / ".embedded")
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def say(message: str) -> None:
    print(f"[platform] {message}", flush=True)


def manage(*args: str, env: dict, check: bool = True) -> int:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=check
    ).returncode
