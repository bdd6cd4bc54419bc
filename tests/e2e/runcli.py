"""Helpers for the `aerie run` end-to-end tests: the real `aerie` command on a throwaway data
dir (embedded SQLite), the shared Pegasus examples, and small workflows written with the
official `Pegasus.api` whose jobs leave countable side effects.

The `step` executable used by the generated workflows::

    step NAME LOG SLEEP FAILS GATE [OUT...]

appends NAME to LOG (one line per execution, so a test counts how often a node really ran),
sleeps SLEEP seconds, fails (exit 1) while it has run FAILS times or fewer, fails (exit 3)
while the file GATE does not exist (`-`: no gate), and otherwise writes NAME into every OUT.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from Pegasus.api import (
    File,
    Job,
    Namespace,
    ReplicaCatalog,
    Transformation,
    TransformationCatalog,
    Workflow,
)

REPO = Path(__file__).resolve().parents[2]
AERIE = Path(sys.executable).with_name("aerie")

STEP = """#!/bin/sh
name=$1 log=$2 sleep=$3 fails=$4 gate=$5
shift 5
echo "$name" >> "$log"
n=$(grep -cx "$name" "$log")
[ "$sleep" = 0 ] || sleep "$sleep"
if [ "$n" -le "$fails" ]; then echo "$name: failing attempt $n on purpose" >&2; exit 1; fi
if [ "$gate" != "-" ] && [ ! -e "$gate" ]; then echo "$name: waiting for $gate" >&2; exit 3; fi
for out in "$@"; do echo "$name" > "$out"; done
echo "$name done"
"""

TASK = """#!/bin/sh
# task -i IN... -o OUT...: every OUT gets the concatenation of the INs plus one line naming it
mode= ins= outs=
for a in "$@"; do
  case "$a" in
    -i|-o) mode=$a ;;
    *) if [ "$mode" = -i ]; then ins="$ins $a"; else outs="$outs $a"; fi ;;
  esac
done
for o in $outs; do { [ -z "$ins" ] || cat $ins; echo "$o"; } > "$o"; done
"""


def shared_dir() -> Path:
    env = os.environ.get("AERIE_SHARED_DIR")
    return Path(env).resolve() if env else (REPO / ".." / "shared").resolve()


@dataclass
class Aerie:
    """The `aerie` command with its own data dir (and so its own SQLite database)."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        return {
            **os.environ,
            "AERIE_DATA_DIR": str(self.data_dir),
            "AERIE_CONFIG": os.devnull,
            "AERIE_SCRATCH_DIR": str(self.data_dir / "scratch"),
            **self.env,
        }

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AERIE), *args],
            cwd=self.data_dir.parent,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(AERIE), *args],
            cwd=self.data_dir.parent,
            env=self.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def json(self, *args: str) -> Any:
        result = self(*args)
        assert result.returncode in (0, 2), result.stderr
        return json.loads(result.stdout)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "aerie.db")

    def run_row(self, run_id: str) -> dict[str, Any]:
        with self.db() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        assert row is not None, f"no run {run_id}"
        return dict(row)

    def submit_dir(self, run_id: str) -> Path:
        return self.data_dir / "runs" / run_id / "submit"

    def output_dir(self, run_id: str) -> Path:
        return self.data_dir / "runs" / run_id / "wf-output"

    def instances(self, run_id: str, exec_job_id: str) -> list[tuple[int, int | None]]:
        """(submit sequence, exit code) of every job_instance row of one job."""
        sql = (
            "SELECT ji.job_submit_seq, ji.exitcode FROM job_instance ji "
            "JOIN job j ON j.job_id = ji.job_id JOIN workflow w ON w.wf_id = j.wf_id "
            "WHERE w.run_id = ? AND j.exec_job_id = ? ORDER BY ji.job_submit_seq"
        )
        with self.db() as db:
            return [(int(a), b) for a, b in db.execute(sql, (run_id, exec_job_id))]


def run_id_of(output: str) -> str:
    """The run id `aerie run` printed ("run <id> (<name>) is <state>")."""
    for line in output.splitlines():
        if line.startswith("run ") and ") is " in line:
            return line.split()[1]
    raise AssertionError(f"no run id in:\n{output}")


def example(tmp_path: Path, name: str) -> Path:
    """A copy of shared/pegasus/examples/NAME with /EXAMPLES_DIR pointing at the copy."""
    src = shared_dir() / "pegasus" / "examples"
    dest = tmp_path / "examples"
    shutil.copytree(src / name, dest / name)
    for p in (dest / name).rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
        if p.suffix in (".yml", ".yaml", ".properties"):
            p.write_text(p.read_text().replace("/EXAMPLES_DIR", str(dest)))
    return dest / name / "workflow.yml"


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@dataclass
class StepWorkflow:
    """A workflow of `step` jobs built with Pegasus.api; `log` counts executions per node."""

    root: Path
    name: str = "steps"
    retries: int | None = None
    jobs: list[Job] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.step = executable(self.root / "bin" / "step", STEP)
        self.log = self.root / "executions.log"

    def add(
        self,
        job_id: str,
        *,
        inputs: Sequence[str] = (),
        outputs: Sequence[str] = (),
        write: Sequence[str] | None = None,
        sleep: float = 0,
        fails: int = 0,
        gate: Path | None = None,
        retry: int | None = None,
        stage_out: bool = False,
    ) -> Job:
        """A job; `write` (default: `outputs`) is what the script really writes."""
        written = list(outputs if write is None else write)
        job = Job("step", _id=job_id).add_args(
            job_id, str(self.log), str(sleep), str(fails), str(gate or "-"), *written
        )
        for lfn in inputs:
            job.add_inputs(File(lfn))
        for lfn in outputs:
            job.add_outputs(File(lfn), stage_out=stage_out, register_replica=False)
        if retry is not None:
            # a string: Pegasus.api drops a profile whose value is 0
            job.add_profiles(Namespace.DAGMAN, key="retry", value=str(retry))
        self.jobs.append(job)
        return job

    def write(self) -> Path:
        tc = TransformationCatalog()
        tc.add_transformations(
            Transformation("step", site="local", pfn=str(self.step), is_stageable=False)
        )
        wf = Workflow(self.name, infer_dependencies=True)
        wf.add_transformation_catalog(tc)
        wf.add_jobs(*self.jobs)
        path = self.root / "workflow.yml"
        wf.write(str(path))
        return path

    def executions(self) -> dict[str, int]:
        if not self.log.exists():
            return {}
        counts: dict[str, int] = {}
        for line in self.log.read_text().split():
            counts[line] = counts.get(line, 0) + 1
        return counts


def montage(root: Path, images: int) -> tuple[Path, list[str]]:
    """A Montage-shaped workflow (mProject, mDiffFit of neighbours, mConcatFit, mBgModel,
    mBackground, mImgtbl, mAdd, mViewer) whose tasks concatenate their inputs into their
    outputs, so the final image carries every raw image's bytes. Returns (workflow, raw names)."""
    task = executable(root / "bin" / "task", TASK)
    (root / "inputs").mkdir(parents=True, exist_ok=True)
    rc = ReplicaCatalog()
    tc = TransformationCatalog()
    names = ["mProject", "mDiffFit", "mConcatFit", "mBgModel", "mBackground", "mImgtbl"]
    for name in [*names, "mAdd", "mViewer"]:
        tc.add_transformations(
            Transformation(name, site="local", pfn=str(task), is_stageable=False)
        )
    wf = Workflow(f"montage-{images}", infer_dependencies=True)
    wf.add_transformation_catalog(tc)
    header = root / "inputs" / "region.hdr"
    header.write_text("SIMPLE = T\n")
    rc.add_replica("local", "region.hdr", str(header))
    raws = []

    def job(tr: str, ins: Sequence[str], outs: Sequence[str], stage_out: bool = False) -> None:
        j = Job(tr).add_args("-i", *ins, "-o", *outs)
        j.add_inputs(*[File(i) for i in ins])
        j.add_outputs(*[File(o) for o in outs], stage_out=stage_out, register_replica=False)
        wf.add_jobs(j)

    for i in range(images):
        raw = root / "inputs" / f"raw_{i}.fits"
        raw.write_text(f"pixels of image {i}\n")
        rc.add_replica("local", raw.name, str(raw))
        raws.append(f"pixels of image {i}")
        job("mProject", ["region.hdr", raw.name], [f"p_{i}.fits"])
    for i in range(images - 1):
        job("mDiffFit", [f"p_{i}.fits", f"p_{i + 1}.fits"], [f"diff_{i}.txt"])
    job("mConcatFit", [f"diff_{i}.txt" for i in range(images - 1)], ["fits.tbl"])
    job("mBgModel", ["fits.tbl"], ["corrections.tbl"])
    for i in range(images):
        job("mBackground", [f"p_{i}.fits", "corrections.tbl"], [f"c_{i}.fits"])
    job("mImgtbl", [f"c_{i}.fits" for i in range(images)], ["images.tbl"])
    job("mAdd", ["images.tbl", *[f"c_{i}.fits" for i in range(images)]], ["mosaic.fits"])
    job("mViewer", ["mosaic.fits"], ["mosaic.png"], stage_out=True)
    wf.add_replica_catalog(rc)
    path = root / "workflow.yml"
    wf.write(str(path))
    return path, raws


def wait_for(predicate: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)
