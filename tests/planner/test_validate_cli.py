"""`aerie validate` as a user runs it: a real subprocess, exit codes, text and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each run starts the whole `aerie` CLI in a fresh interpreter

REPO = Path(__file__).resolve().parents[2]


def aerie(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_valid_workflow(examples_dir: Path) -> None:
    d = examples_dir / "diamond-catalogs"
    r = aerie("validate", str(d / "workflow.yml"), "--conf", str(d / "pegasus.properties"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{d / 'workflow.yml'}: OK — 4 jobs, 4 edges, 3 levels"
    j = aerie("validate", str(d / "workflow.yml"), "--json")
    summary = json.loads(j.stdout)
    assert summary["ok"] is True and summary["jobs"] == 4
    assert summary["files"]["site"] == [str(d / "sites.yml")]


def test_every_problem_printed_and_exit_code(tmp_path: Path) -> None:
    wf = tmp_path / "workflow.yml"
    wf.write_text(
        "pegasus: 5.0.4\nname: wf\njobs:\n"
        "- {type: job, id: a, name: t, arguments: [], uses: [{lfn: f, type: inptu}]}\n"
        "- {type: job, id: b, arguments: [], uses: []}\n"
    )
    r = aerie("validate", str(wf))
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"{wf}:4: jobs[0].uses[0].type: 'inptu' is not one of none, input, output, inout, "
        "checkpoint",
        f"{wf}:5: jobs[1].name: required field is missing",
        "2 problems found",
    ]
    j = aerie("validate", str(wf), "--json")
    body = json.loads(j.stdout)
    assert body["ok"] is False
    assert body["problems"][1] == {
        "file": str(wf),
        "line": 5,
        "path": "jobs[1].name",
        "message": "required field is missing",
        "code": "schema",
    }


def test_sites_option_and_planning_problems(examples_dir: Path) -> None:
    wf = examples_dir / "diamond" / "workflow.yml"
    r = aerie("validate", str(wf), "--sites", "local,mars")
    assert r.returncode == 1
    assert "<input>: --sites[1]: unknown site 'mars' (not in the site catalog)" in r.stderr
