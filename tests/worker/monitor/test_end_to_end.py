"""The whole path on real files: the planner plans the diamond example, the local engine runs
it with the real job wrapper, the monitor loads what they wrote, and the statistics equal the
figures computed by hand from the invocation records in the `.out` files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models.provenance import Job, JobInstance, Task, TaskMeta, WorkflowMeta
from gateway.services import statistics as st
from gateway.services.provenance import analyze, status
from worker.monitor import monitor_run, rows_for

SHARED = Path(os.environ.get("AERIE_SHARED_DIR", Path(__file__).parents[3] / ".." / "shared"))
EXAMPLES = SHARED / "pegasus" / "examples"

pytestmark = pytest.mark.slow

PLAN = """
import sys
from pathlib import Path
from planner import PlanOptions, plan, write
from planner.inputs import load_inputs
from worker.workspace import install_wrapper
submit = Path(sys.argv[2])
options = PlanOptions(
    submit_dir=submit, sites=["local"], workflow_file=sys.argv[1],
    sources={"workflow.yml": sys.argv[1]},
)
write(plan(load_inputs(sys.argv[1]), options))
install_wrapper(submit)
"""


FLAKY = """\
pegasus: 5.0.4
name: flaky
transformationCatalog:
  transformations:
  - {name: ok, sites: [{name: local, pfn: /bin/true, type: installed}]}
  - {name: fail, sites: [{name: local, pfn: /bin/false, type: installed}]}
jobs:
- {type: job, name: ok, id: ID0000001, arguments: [], uses: []}
- {type: job, name: fail, id: ID0000002, arguments: [], uses: [],
   profiles: {dagman: {RETRY: '2'}}}
jobDependencies:
- {id: ID0000001, children: [ID0000002]}
"""


def plan_and_run(base: Path, example: str, workflow: str | None = None) -> Path:
    """Copy an example, plan it for the local site, run it with the local engine."""
    source = EXAMPLES / example
    if not source.is_dir():
        pytest.fail(f"reference example missing: {source}")
    wf = base / "wf"
    shutil.copytree(source, wf)
    for path in wf.iterdir():
        if path.suffix in (".yml", ".properties"):
            path.write_text(path.read_text().replace(f"/EXAMPLES_DIR/{example}", str(wf)))
    if workflow is not None:
        (wf / "workflow.yml").write_text(workflow)
    submit = base / "submit"
    repo = Path(__file__).parents[3]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    subprocess.run(
        [sys.executable, "-c", PLAN, str(wf / "workflow.yml"), str(submit)],
        check=True, env=env, cwd=base, timeout=120,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "worker.engines.local", "run", str(next(submit.glob("*.dag")))],
        env=env, cwd=base, timeout=300, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == (0 if workflow is None else 1), done.stdout + done.stderr
    return submit


@pytest.fixture(scope="module")
def diamond_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plan_and_run(tmp_path_factory.mktemp("e2e"), "diamond-catalogs")


@pytest.fixture(scope="module")
def flaky_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plan_and_run(tmp_path_factory.mktemp("e2e-f"), "diamond-catalogs", FLAKY)


@pytest.fixture(scope="module")
def hierarchical_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plan_and_run(tmp_path_factory.mktemp("e2e-h"), "hierarchical")


def records(submit: Path) -> list[dict]:
    out = []
    for path in sorted(submit.rglob("*.out*")):
        if path.name.endswith(".lite.json"):
            continue
        for line in path.read_text().splitlines():
            if line.startswith('{"type": "aerie.invocation"'):
                out.append(json.loads(line))
    return out


def test_real_run_statistics_equal_its_invocation_records(db: Session, diamond_run: Path) -> None:
    result = monitor_run(db, diamond_run)
    recs = records(diamond_run)
    assert recs, "the job wrapper wrote no invocation records"
    counts = rows_for(db, result.wf_id)
    jobs = len([line for line in (diamond_run / next(diamond_run.glob("*.dag")).name)
                .read_text().splitlines() if line.startswith("JOB ")])  # fmt: skip
    assert counts["job"] == jobs and counts["job_instance"] == jobs  # nothing retried
    s = st.summary(db, result.wf_id)
    assert s.jobs.succeeded == jobs and s.jobs.failed == 0
    assert s.cum_job_wall_time == pytest.approx(sum(r["duration"] for r in recs))
    assert s.cum_job_badput == 0 or s.cum_job_badput is None
    compute = {r["job_id"] for r in recs if not r["transformation"].startswith("pegasus::")}
    assert s.tasks.succeeded == len(compute) == 4  # preprocess, 2 x findrange, analyze
    # DAGMan's start and end lines in jobstate.log (whole seconds, as with real DAGMan)
    marks = {
        w[3]: float(w[0])
        for w in (line.split() for line in (diamond_run / "jobstate.log").read_text().splitlines())
        if w[1] == "INTERNAL"
    }
    assert s.workflow_wall_time == marks["DAGMAN_FINISHED"] - marks["DAGMAN_STARTED"]
    report = status(db, result.wf_id)
    assert (report.dags[0].succeeded, report.dags[0].state) == (jobs, "Success")
    analysis = analyze(db, result.wf_id)
    assert (analysis.workflow_status, analysis.failed) == ("success", 0)
    wf_meta = db.execute(
        select(WorkflowMeta.key, WorkflowMeta.value).where(WorkflowMeta.wf_id == result.wf_id)
    ).all()
    assert [tuple(r) for r in wf_meta] == [("experiment", "catalog-files")]
    task_meta = db.execute(
        select(Task.abs_task_id, TaskMeta.key, TaskMeta.value)
        .join(TaskMeta, TaskMeta.task_id == Task.task_id)
        .where(Task.wf_id == result.wf_id)
    ).all()
    assert [tuple(r) for r in task_meta] == [("ID0000004", "stage", "final")]
    again = monitor_run(db, diamond_run)
    assert again.events == 0 and rows_for(db, result.wf_id) == counts


def test_sub_workflows_are_followed_and_linked(db: Session, hierarchical_run: Path) -> None:
    result = monitor_run(db, hierarchical_run)
    infos = st.descendants(db, result.wf_id)
    assert [w.dax_label for w in infos] == ["outer", "inner"]
    inner = infos[1]
    assert inner.parent_wf_id == result.wf_id and inner.root_wf_id == result.wf_id
    linked = db.execute(
        select(Job.exec_job_id, JobInstance.subwf_id)
        .join(JobInstance, JobInstance.job_id == Job.job_id)
        .where(Job.wf_id == result.wf_id, Job.type_desc.in_(("dag", "dax")))
    ).all()
    assert [tuple(r) for r in linked] == [("pegasus-plan_SUB01", inner.wf_id)]
    s = st.summary(db, result.wf_id)
    assert (s.sub_workflows.succeeded, s.sub_workflows.total) == (1, 1)
    inner_jobs = rows_for(db, inner.wf_id)["job"]
    assert s.jobs.total == rows_for(db, result.wf_id)["job"] - 1 + inner_jobs
    report = status(db, result.wf_id)
    assert [(d.dagname, d.depth, d.state) for d in report.dags] == [
        ("outer-0.dag", 0, "Success"),
        ("inner-0.dag", 1, "Success"),
    ]
    assert monitor_run(db, hierarchical_run).events == 0


def test_real_retries_become_instances_with_their_own_records(db: Session, flaky_run: Path) -> None:
    result = monitor_run(db, flaky_run)
    attempts = db.execute(
        select(JobInstance.job_submit_seq, JobInstance.exitcode, JobInstance.stdout_file)
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id == result.wf_id, Job.exec_job_id == "fail_ID0000002")
        .order_by(JobInstance.job_submit_seq)
    ).all()
    assert [(r[1], r[2]) for r in attempts] == [
        (256, f"00/00/fail_ID0000002.out.{k:03d}") for k in range(3)
    ]
    s = st.summary(db, result.wf_id)
    assert (s.jobs.failed, s.jobs.retries, s.tasks.failed, s.tasks.retries) == (1, 2, 1, 2)
    recs = [r for r in records(flaky_run) if r["job_id"] == "ID0000002"]
    assert [r["exitcode"] for r in recs] == [1, 1, 1]
    assert s.cum_job_badput == pytest.approx(sum(r["duration"] for r in recs))
    [failed] = analyze(db, result.wf_id).failed_jobs
    assert failed.stdout_file == "00/00/fail_ID0000002.out.002"
    assert failed.tasks[0].exitcode == 1 and failed.tasks[0].failed_step == "exec"
