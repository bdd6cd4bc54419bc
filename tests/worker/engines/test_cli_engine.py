"""`aerie engine run|remove|status` as a user runs them (real `aerie` subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.worker.engines.conftest import DagDir
from tests.worker.engines.contract import diamond

pytestmark = pytest.mark.slow


def aerie(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    code = "from gateway.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout
    )


def test_run_in_the_foreground_reports_success_and_failure(dagdir: DagDir) -> None:
    root = diamond(dagdir)
    ok = aerie("engine", "run", str(root), "--cpus", "2")
    assert ok.returncode == 0, ok.stderr
    assert "diamond.dag: all nodes succeeded" in ok.stdout
    bad = dagdir.root / "bad"
    bad.mkdir()
    (bad / "node.sh").write_text((dagdir.root / "node.sh").read_text())
    (bad / "node.sh").chmod(0o755)
    failing = diamond(DagDir(bad), fail_c=3)
    result = aerie("engine", "run", str(failing / "diamond.dag"))
    assert result.returncode == 1
    assert "stopped with status 1 (failed nodes: C; rescue DAG: diamond.dag.rescue001)" in (
        result.stderr
    )


def test_a_bad_dag_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "x.dag").write_text("JOB A a.sub\nRETRY A lots\n")
    result = aerie("engine", "run", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / 'x.dag'}:2: RETRY count must be an integer" in result.stderr


@pytest.mark.slow
def test_detach_status_remove_and_resume(dagdir: DagDir) -> None:
    root = diamond(dagdir)
    gate = root / "gate"
    waiter = root / "wait.sh"  # B blocks until the gate exists: removal always finds it running
    waiter.write_text(
        f"#!/bin/sh\n{dagdir.script} B {root}\nwhile [ ! -e {gate} ]; do sleep 0.1; done\n"
    )
    waiter.chmod(0o755)
    (root / "B.sub").write_text(f"universe = local\nexecutable = {waiter}\nqueue\n")
    started = aerie("engine", "run", str(root), "--detach")
    assert started.returncode == 0, started.stderr
    handle = json.loads(started.stdout.splitlines()[-1])
    assert handle["engine"] == "local" and handle["dag_file"].endswith("diamond.dag")
    running = aerie("engine", "status", str(root))
    assert running.stdout.startswith("running: engine pid"), running.stdout + running.stderr
    deadline = time.monotonic() + 30
    while "B" not in dagdir.starts() and time.monotonic() < deadline:
        time.sleep(0.05)
    removed = aerie("remove", str(root))
    assert removed.returncode == 0, removed.stderr
    assert "rescue DAG written" in removed.stdout
    status = aerie("engine", "status", str(root)).stdout
    assert status.startswith("finished: exit 1 DagStatus 4"), status
    again = aerie("engine", "remove", str(root))
    assert again.returncode == 1 and "not being run by a live local engine" in again.stderr
    gate.touch()
    resumed = aerie("engine", "run", str(root))
    assert resumed.returncode == 0, resumed.stderr
    starts = dagdir.starts()
    assert starts.count("A") == 1 and starts.count("B") == 2 and sorted(set(starts)) == list("ABCD")
