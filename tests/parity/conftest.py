"""Fixtures for the Pegasus parity tests: Pegasus's own submit dirs, copied without stampede.db.

The reference data lives in `<repo>/../shared/pegasus/fixtures` (or `$AERIE_SHARED_DIR`); it is
read-only and never copied into the repository.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    configured = os.environ.get("AERIE_SHARED_DIR")
    return Path(configured) if configured else (REPO / ".." / "shared").resolve()


FIXTURES = shared_dir() / "pegasus" / "fixtures"
SUBMIT_DIRS = FIXTURES / "submit-dirs"
STATUS_SAMPLES = FIXTURES / "status"
ALL_RUNS = [
    "process_wf_success",
    "process_wf_failure",
    "sample_wf_held",
    "hierarchical_wf_success",
    "hierarchical_wf_failure",
]


def stampede_db(name: str) -> Path:
    return next((SUBMIT_DIRS / name).glob("*.stampede.db"))


def copy_without_stampede(name: str, destination: Path) -> Path:
    """A writable copy of a fixture run with every stampede database removed (Pegasus #1451)."""
    target = destination / name
    shutil.copytree(
        SUBMIT_DIRS / name,
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns("*.stampede.db", "*.replicas.db"),
    )
    for folder, dirs, files in os.walk(target):
        for entry in [folder, *(os.path.join(folder, f) for f in files + dirs)]:
            if not os.path.islink(entry):
                os.chmod(entry, os.stat(entry).st_mode | stat.S_IWUSR)
    assert not list(target.rglob("*.stampede.db"))
    return target


@pytest.fixture
def run_copy(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Factory: `run_copy("sample_wf_held")` → path of a stampede-less copy."""

    def make(name: str) -> Path:
        return copy_without_stampede(name, tmp_path)

    return make
