"""`aerie plan` as a user runs it: a real subprocess, then the planned directory run to the end
by the local engine (the same files DAGMan would get)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

AERIE = [str(Path(sys.executable).parent / "aerie")]


def _aerie(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AERIE, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_plan_json_summary(examples_dir: Path, tmp_path: Path) -> None:
    submit = tmp_path / "run" / "submit"
    proc = _aerie(
        "plan",
        str(examples_dir / "split" / "workflow.yml"),
        "--sites",
        "local",
        "--cleanup",
        "leaf",
        "-o",
        str(submit),
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["submit_dir"] == str(submit)
    assert summary["jobs"] == {
        "compute": 5,
        "create-dir": 1,
        "stage-in-tx": 1,
        "stage-out-tx": 1,
        "registration": 1,
        "cleanup": 1,
    }
    assert summary["total_jobs"] == 10
    assert summary["seconds"]["plan"] >= 0
    assert (submit / "split-0.dag").is_file()
    assert (submit / "aerie-lite").stat().st_mode & 0o111
    assert (submit / "catalogs" / "workflow.yml").read_text() == (
        examples_dir / "split" / "workflow.yml"
    ).read_text()
    # planning into a directory that already holds a plan is refused
    again = _aerie(
        "plan",
        str(examples_dir / "split" / "workflow.yml"),
        "--sites",
        "local",
        "-o",
        str(submit),
        cwd=tmp_path,
    )
    assert again.returncode != 0 and "already holds a planned workflow" in again.stderr


def test_plan_reports_problems_one_per_line(examples_dir: Path, tmp_path: Path) -> None:
    wf = examples_dir / "diamond" / "workflow.yml"
    proc = _aerie("plan", str(wf), "-o", str(tmp_path / "x"), cwd=tmp_path)
    assert proc.returncode == 1
    # Pegasus fails the same way; the message says which sites have it and what to type
    assert proc.stderr.splitlines()[0] == (
        f"error: {wf}: jobs[ID0000001]: transformation 'preprocess' cannot run on any of the "
        "sites condorpool (the transformation catalog has no installed entry there and no "
        "compatible stageable entry); it is installed on: local; add --sites local"
    )
    assert not (tmp_path / "x" / "diamond-0.dag").exists()


@pytest.mark.slow
def test_planned_diamond_runs_on_the_local_engine(examples_dir: Path, tmp_path: Path) -> None:
    submit = tmp_path / "run" / "submit"
    planned = _aerie(
        "plan",
        str(examples_dir / "diamond" / "workflow.yml"),
        "-s",
        "local",
        "-o",
        str(submit),
        cwd=tmp_path,
    )
    assert planned.returncode == 0, planned.stderr
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker.engines.local",
            "run",
            str(submit / "diamond-0.dag"),
            "--scratch",
            str(tmp_path / "scratch"),
        ],
        cwd=submit,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert ran.returncode == 0, ran.stderr + (submit / "diamond-0.dag.dagman.out").read_text()
    # the output was staged out and registered; inplace cleanup emptied the staging directory
    out = tmp_path / "run" / "wf-output" / "f.d"
    lines = out.read_text().splitlines()
    source = (examples_dir / "diamond" / "f.a").read_text().splitlines()
    assert sorted(lines) == sorted(source + source)  # tee → f.b1, f.b2; sort each; cat both
    assert (submit / "diamond-0.replicas").read_text() == f'f.d file://{out} site="local"\n'
    assert list((tmp_path / "run" / "wf-scratch" / "LOCAL" / "submit").iterdir()) == []
    # every compute job's POST verdict was logged, and the parents' checksums were recorded
    verdicts = [json.loads(x) for x in (submit / "diamond-0.exitcode.log").read_text().splitlines()]
    assert sorted(v["name"] for v in verdicts if v["exitcode"] == 0) == [
        f"00/00/{job}.out"
        for job in (
            "analyze_ID0000004",
            "findrange_ID0000002",
            "findrange_ID0000003",
            "preprocess_ID0000001",
        )
    ]
    meta = json.loads((submit / "00/00/preprocess_ID0000001.meta").read_text())
    assert {m["_id"] for m in meta} == {"f.b1", "f.b2"}


@pytest.mark.slow
def test_tampered_input_fails_the_integrity_check(examples_dir: Path, tmp_path: Path) -> None:
    wf_dir = tmp_path / "diamond"
    wf_dir.mkdir()
    (wf_dir / "f.a").write_text("not what the replica catalog's checksum says\n")
    text = (examples_dir / "diamond" / "workflow.yml").read_text()
    (wf_dir / "workflow.yml").write_text(text.replace(str(examples_dir / "diamond"), str(wf_dir)))
    submit = tmp_path / "run" / "submit"
    planned = _aerie(
        "plan",
        str(wf_dir / "workflow.yml"),
        "-s",
        "local",
        "-o",
        str(submit),
        "-D",
        "dagman.retry=0",
        cwd=tmp_path,
    )
    assert planned.returncode == 0, planned.stderr
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker.engines.local",
            "run",
            str(submit / "diamond-0.dag"),
            "--scratch",
            str(tmp_path / "scratch"),
        ],
        cwd=submit,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert ran.returncode != 0
    verdicts = [json.loads(x) for x in (submit / "diamond-0.exitcode.log").read_text().splitlines()]
    (first,) = [v for v in verdicts if v["name"] == "00/00/preprocess_ID0000001.out"]
    assert first["exitcode"] != 0
    record = (submit / "00/00/preprocess_ID0000001.out.000").read_text()
    assert '"failed_step": "integrity"' in record
    assert not (tmp_path / "run" / "wf-output" / "f.d").exists()
