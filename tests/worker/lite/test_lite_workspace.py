"""``install_wrapper``: the zipapp HTCondor ships, and that it needs only the standard library."""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

from worker import workspace

LITE = Path(workspace.__file__).parent / "lite"


def test_zipapp_shape_and_mode(tmp_path: Path) -> None:
    path = workspace.install_wrapper(tmp_path)
    assert path == tmp_path / "aerie-lite"
    assert path.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    # idempotent and deterministic
    before = path.read_bytes()
    assert workspace.install_wrapper(tmp_path).read_bytes() == before


def test_zipapp_runs_in_isolated_mode_without_the_repo(tmp_path: Path) -> None:
    path = workspace.install_wrapper(tmp_path)
    env = {"PATH": os.environ["PATH"]}  # no PYTHONPATH, no venv
    proc = subprocess.run(
        [sys.executable, "-I", str(path), "exitcode", "-n", "missing.out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1 and "missing.out does not exist" in proc.stderr
    proc = subprocess.run([str(path), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and "exitcode" in proc.stdout


def test_lite_imports_only_the_standard_library() -> None:
    for src in LITE.glob("*.py"):
        tree = ast.parse(src.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (src.name, name)


def test_next_run_dir_numbers_runs(tmp_path: Path) -> None:
    assert workspace.next_run_dir(tmp_path).name == "run0001"
    (tmp_path / "run0007").mkdir()
    assert workspace.next_run_dir(tmp_path).name == "run0008"


def test_lite_sources_parse_as_python_3_8() -> None:
    """Grammar only (library APIs were checked by running this suite with AERIE_LITE_PYTHON)."""
    for src in LITE.glob("*.py"):
        ast.parse(src.read_text(), filename=str(src), feature_version=(3, 8))
