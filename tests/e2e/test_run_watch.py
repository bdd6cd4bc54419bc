"""What `aerie run --wait` shows and records while it watches a run: the progress moves while
the run is running (not only at its start and end), and when the command returns, the run's
provenance is complete: the same rows a single monitor pass over the finished submit dir makes.

The watcher polls (a monitor pass into the database) only when the engine's node status file
changed, when the engine ended, or every few seconds (gateway/cli/run.py `_wait_for_news`);
these tests hold it to showing and recording everything all the same.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import provenance as prov
from gateway.db.session import make_engine_for_url
from tests.e2e.runcli import Aerie, StepWorkflow, run_id_of
from worker.monitor import monitor_run, rows_for

pytestmark = pytest.mark.slow

PROGRESS = re.compile(r"^progress: (\d+)/(\d+) done, (\d+) failed, (\d+) running \((\w+)\)$")

PROVENANCE_TABLES = [
    m.__tablename__
    for m in vars(prov).values()
    if isinstance(m, type) and issubclass(m, prov.Base) and hasattr(m, "__tablename__")
]


@pytest.fixture
def aerie(tmp_path: Path) -> Aerie:
    return Aerie(tmp_path / "data")


def _provenance(url: str, run_id: str | None) -> dict[str, Any]:
    """Row counts per table, and every job's attempts and states, of one run's workflow."""
    engine = make_engine_for_url(url)
    try:
        with Session(engine) as s:
            query = select(prov.Workflow.wf_id).where(prov.Workflow.parent_wf_id.is_(None))
            if run_id is not None:
                query = query.where(prov.Workflow.run_id == run_id)
            wf_id = s.scalars(query).one()
            instances = sorted(
                (str(job), int(seq), code)
                for job, seq, code in s.execute(
                    select(
                        prov.Job.exec_job_id,
                        prov.JobInstance.job_submit_seq,
                        prov.JobInstance.exitcode,
                    )
                    .join(prov.JobInstance, prov.JobInstance.job_id == prov.Job.job_id)
                    .where(prov.Job.wf_id == wf_id)
                )
            )
            states = sorted(
                (str(job), int(seq), str(state))
                for job, seq, state in s.execute(
                    select(
                        prov.Job.exec_job_id, prov.JobState.jobstate_submit_seq, prov.JobState.state
                    )
                    .join(prov.JobInstance, prov.JobInstance.job_id == prov.Job.job_id)
                    .join(
                        prov.JobState,
                        prov.JobState.job_instance_id == prov.JobInstance.job_instance_id,
                    )
                    .where(prov.Job.wf_id == wf_id)
                )
            )
            status = s.get(prov.DagStatus, wf_id)
            assert status is not None
            dag = (status.nodes_total, status.done, status.failed, status.exit_status)
            ended = sorted(
                str(st)
                for st in s.scalars(
                    select(prov.WorkflowState.state).where(prov.WorkflowState.wf_id == wf_id)
                )
            )
            return {
                "rows": rows_for(s, wf_id),
                "instances": instances,
                "states": states,
                "dagstatus": dag,
                "workflowstate": ended,
            }
    finally:
        engine.dispose()


def _one_pass(aerie: Aerie, run_id: str, tmp_path: Path) -> dict[str, Any]:
    """The provenance a single monitor pass over the finished submit dir makes (in a copy of
    the database with every provenance row removed, so the run row it refers to exists)."""
    fresh = tmp_path / "fresh.db"
    shutil.copy(aerie.data_dir / "aerie.db", fresh)
    with sqlite3.connect(fresh) as db:
        db.execute("PRAGMA foreign_keys=OFF")
        for table in PROVENANCE_TABLES:
            db.execute(f'DELETE FROM "{table}"')  # noqa: S608 - our own table names
    url = f"sqlite:///{fresh}"
    engine = make_engine_for_url(url)
    try:
        with Session(engine) as s, s.begin():
            monitor_run(s, aerie.submit_dir(run_id), run_id=run_id)
    finally:
        engine.dispose()
    return _provenance(url, run_id)


def test_progress_moves_while_running_and_provenance_is_complete_at_the_end(
    aerie: Aerie, tmp_path: Path
) -> None:
    wf = StepWorkflow(tmp_path / "watch")
    wf.add("A")
    wf.add("B")
    # C outlives the engine's first status-file rewrite (NODE_STATUS_FILE every 5 s) with A
    # and B done, so a watcher that shows progress at all shows a count between 0 and total.
    wf.add("C", sleep=8)
    result = aerie("run", str(wf.write()), "-s", "local", "--wait", "--interval", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    lines = [m.groups() for m in map(PROGRESS.match, result.stdout.splitlines()) if m]
    assert lines, result.stdout
    done = [(int(d), int(total)) for d, total, _, _, _ in lines]
    assert any(0 < d < total for d, total in done), result.stdout  # it moved while running
    assert lines[-1][0] == lines[-1][1] and lines[-1][4] == "succeeded", result.stdout
    assert [d for d, _ in done] == sorted(d for d, _ in done)
    assert f"run {run_id} succeeded" in result.stdout

    recorded = _provenance(f"sqlite:///{aerie.data_dir / 'aerie.db'}", run_id)
    assert recorded == _one_pass(aerie, run_id, tmp_path)
    total = lines[-1][1]
    assert recorded["dagstatus"] == (int(total), int(total), 0, 0)
    assert recorded["workflowstate"] == ["WORKFLOW_STARTED", "WORKFLOW_TERMINATED"]
    assert {job for job, _, _ in recorded["instances"]} >= {"step_A", "step_B", "step_C"}


def test_a_failing_run_is_reported_with_complete_provenance(aerie: Aerie, tmp_path: Path) -> None:
    wf = StepWorkflow(tmp_path / "fails")
    wf.add("A", fails=1, retry=0, sleep=1)
    wf.add("B")
    result = aerie("run", str(wf.write()), "-s", "local", "--wait", "--interval", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    assert f"run {run_id} failed" in result.stderr
    assert "step_A" in result.stderr  # the analyzer's summary names the failed job
    lines = [m.groups() for m in map(PROGRESS.match, result.stdout.splitlines()) if m]
    assert lines and lines[-1][2] == "1" and lines[-1][4] == "failed", result.stdout
    recorded = _provenance(f"sqlite:///{aerie.data_dir / 'aerie.db'}", run_id)
    assert recorded == _one_pass(aerie, run_id, tmp_path)
    assert any(job == "step_A" and code == 256 for job, _, code in recorded["instances"])
