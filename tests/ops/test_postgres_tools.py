"""scripts/lib/postgres.sh finds client programs of the server's major version: PG_BIN, then
Debian's folder and the PATH, then the pgserver wheel's bundled binaries; none: a message."""

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.databases import BASE_DIR


def _pg_bin(major: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", 'source scripts/lib/postgres.sh; pg_bin "$1"', "-", major],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
    )


def _major(folder: Path) -> str:
    version = subprocess.run(
        [str(folder / "pg_dump"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return re.search(r" (\d+)[.\d]*", version)[1]


def _bundled() -> Path:
    # Where pgserver keeps them (pgserver._commands.POSTGRES_BIN_PATH), without importing it.
    [package] = importlib.util.find_spec("pgserver").submodule_search_locations
    return Path(package) / "pginstall" / "bin"


def test_the_pgserver_wheels_binaries_are_the_fallback():
    bundled = _bundled()
    major = _major(bundled)
    if Path(f"/usr/lib/postgresql/{major}/bin/pg_dump").exists():
        pytest.skip(f"PostgreSQL {major}'s own client programs are installed: no fallback")
    result = _pg_bin(major, PYTHON=str(BASE_DIR / ".venv" / "bin" / "python"))
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == bundled


def test_pg_bin_names_a_folder_of_its_own_first():
    bundled = _bundled()
    result = _pg_bin(_major(bundled), PG_BIN=str(bundled), PYTHON="/nonexistent")
    assert result.returncode == 0 and Path(result.stdout.strip()) == bundled


def test_no_matching_version_is_an_error_that_says_so():
    result = _pg_bin("7", PYTHON=str(BASE_DIR / ".venv" / "bin" / "python"))
    assert result.returncode == 1
    assert "no pg_dump/pg_restore/psql of PostgreSQL 7 found (set PG_BIN" in result.stderr
