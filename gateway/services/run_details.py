"""What a run did, read from the provenance tables the monitor fills: jobs with their
attempts and invocations, the DAG as nodes and edges, and the output files.

All functions take a `Run` the caller already obtained through `get_run_for_user_or_404`, so
ownership is checked once, before any of these queries run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.models import (
    Host,
    Invocation,
    Job,
    JobEdge,
    JobInstance,
    JobState,
    RCLfn,
    RCMeta,
    Run,
    Task,
    Workflow,
)
from gateway.errors import InvalidInput, NotFound
from gateway.services.run_layout import root_workflow, run_root
from gateway.settings import Settings

JOB_STATES = ("unsubmitted", "queued", "running", "held", "succeeded", "failed")
_RANK: dict[str, tuple[int, str]] = {
    # DAGMan's jobstate names; the highest-ranked state an attempt reached decides its state.
    # (jobstate.log has whole-second stamps, so neither time nor sequence orders them safely.)
    "PRE_SCRIPT_STARTED": (1, "queued"),
    "PRE_SCRIPT_SUCCESS": (1, "queued"),
    "SUBMIT": (1, "queued"),
    "GRID_SUBMIT": (1, "queued"),
    "EXECUTE": (2, "running"),
    "IMAGE_SIZE": (2, "running"),
    "JOB_RELEASED": (2, "running"),
    "JOB_EVICTED": (2, "running"),
    "JOB_TERMINATED": (3, "running"),
    "JOB_SUCCESS": (4, "succeeded"),
    "JOB_FAILURE": (4, "failed"),
    "POST_SCRIPT_STARTED": (5, "running"),
    "POST_SCRIPT_TERMINATED": (5, "running"),
    "POST_SCRIPT_SUCCESS": (6, "succeeded"),
    "POST_SCRIPT_FAILED": (6, "failed"),
    "POST_SCRIPT_FAILURE": (6, "failed"),
    "PRE_SCRIPT_FAILED": (7, "failed"),
    "PRE_SCRIPT_FAILURE": (7, "failed"),
    "SUBMIT_FAILED": (7, "failed"),
    "JOB_ABORTED": (7, "failed"),
}


def attempt_state(states: list[str], has_post_script: bool) -> str:
    """The state of one attempt from the jobstate names it went through."""
    if not states:
        return "queued"
    rank, state = max((_RANK.get(s, (0, "queued")) for s in states), default=(0, "queued"))
    final = rank >= 6 or (rank == 4 and not has_post_script)
    if not final and states.count("JOB_HELD") > states.count("JOB_RELEASED"):
        return "held"  # a held job that was removed (JOB_ABORTED, POST failed) has its verdict
    if rank == 4 and has_post_script:
        return "running"  # the POST script gives the verdict
    return state


@dataclass
class JobSummary:
    job: Job
    state: str
    transformation: str | None
    retries: int
    exitcode: int | None
    site: str | None


def workflow_ids(session: Session, run: Run) -> list[int]:
    """The run's root workflow and all its sub-workflows."""
    root = root_workflow(session, run)
    if root is None:
        return []
    ids = list(session.scalars(select(Workflow.wf_id).where(Workflow.root_wf_id == root.wf_id)))
    return ids or [root.wf_id]


def _summaries(session: Session, wf_ids: list[int]) -> list[JobSummary]:
    if not wf_ids:
        return []
    jobs = list(session.scalars(select(Job).where(Job.wf_id.in_(wf_ids)).order_by(Job.exec_job_id)))
    last_seq = (
        select(
            JobInstance.job_id,
            func.max(JobInstance.job_submit_seq).label("seq"),
            func.count().label("attempts"),
        )
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id.in_(wf_ids))
        .group_by(JobInstance.job_id)
        .subquery()
    )
    last = {
        inst.job_id: (inst, attempts)
        for inst, attempts in session.execute(
            select(JobInstance, last_seq.c.attempts).join(
                last_seq,
                (last_seq.c.job_id == JobInstance.job_id)
                & (last_seq.c.seq == JobInstance.job_submit_seq),
            )
        )
    }
    inst_ids = [inst.job_instance_id for inst, _ in last.values()]
    seen: dict[int, list[str]] = {}
    if inst_ids:
        rows = session.execute(
            select(JobState.job_instance_id, JobState.state).where(
                JobState.job_instance_id.in_(inst_ids)
            )
        )
        for inst_id, state in rows:
            seen.setdefault(inst_id, []).append(state)
    transformations: dict[int, str | None] = {}
    for job_id, name in session.execute(
        select(Task.job_id, func.min(Task.transformation))
        .where(Task.wf_id.in_(wf_ids), Task.job_id.is_not(None))
        .group_by(Task.job_id)
    ):
        if job_id is not None:
            transformations[job_id] = name
    out = []
    for job in jobs:
        found = last.get(job.job_id)
        if found is None:
            out.append(
                JobSummary(job, "unsubmitted", transformations.get(job.job_id), 0, None, None)
            )
            continue
        inst, attempts = found
        state = attempt_state(seen.get(inst.job_instance_id, []), job.post_script is not None)
        out.append(
            JobSummary(
                job, state, transformations.get(job.job_id), attempts - 1, inst.exitcode, inst.site
            )
        )
    return out


def list_jobs(
    session: Session,
    run: Run,
    *,
    state: str | None = None,
    type_: str | None = None,
    transformation: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[JobSummary], str | None]:
    if state is not None and state not in JOB_STATES:
        raise InvalidInput(
            f"unknown job state {state!r}; use one of {', '.join(JOB_STATES)}",
            details=[{"field": "state"}],
        )
    rows = _summaries(session, workflow_ids(session, run))
    rows = [
        r
        for r in rows
        if (state is None or r.state == state)
        and (type_ is None or r.job.type_desc == type_)
        and (transformation is None or r.transformation == transformation)
    ]
    start = 0
    if cursor:
        if not cursor.isdigit():
            raise InvalidInput("invalid cursor", details=[{"field": "cursor"}])
        start = int(cursor)
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    return page, str(start + limit) if more else None


def get_job(session: Session, run: Run, name: str) -> tuple[JobSummary, list[dict[str, Any]]]:
    """A job by DAG node name, with every attempt, its states and invocations."""
    wf_ids = workflow_ids(session, run)
    summary = next((s for s in _summaries(session, wf_ids) if s.job.exec_job_id == name), None)
    if summary is None:
        raise NotFound(f"no job named {name!r} in run {run.id}")
    instances = []
    stmt = (
        select(JobInstance, Host.hostname)
        .outerjoin(Host, Host.host_id == JobInstance.host_id)
        .where(JobInstance.job_id == summary.job.job_id)
        .order_by(JobInstance.job_submit_seq)
    )
    for inst, hostname in session.execute(stmt):
        states = [
            {"state": st.state, "timestamp": st.timestamp, "reason": st.reason}
            for st in session.scalars(
                select(JobState)
                .where(JobState.job_instance_id == inst.job_instance_id)
                .order_by(JobState.timestamp, JobState.jobstate_submit_seq)
            )
        ]
        invocations = [
            {
                "task_submit_seq": inv.task_submit_seq,
                "transformation": inv.transformation,
                "executable": inv.executable,
                "argv": inv.argv,
                "exitcode": inv.exitcode,
                "start_time": inv.start_time,
                "duration": inv.remote_duration,
                "cpu_time": inv.remote_cpu_time,
                "maxrss_kb": inv.maxrss,
                "failed_step": inv.failed_step,
            }
            for inv in session.scalars(
                select(Invocation)
                .where(Invocation.job_instance_id == inst.job_instance_id)
                .order_by(Invocation.task_submit_seq)
            )
        ]
        instances.append(
            {
                "submit_seq": inst.job_submit_seq,
                "sched_id": inst.sched_id,
                "site": inst.site,
                "hostname": hostname,
                "exitcode": inst.exitcode,
                "duration": inst.local_duration,
                "states": states,
                "stdout": inst.stdout_text,
                "stderr": inst.stderr_text,
                "invocations": invocations,
            }
        )
    return summary, instances


def graph(session: Session, run: Run) -> dict[str, list[dict[str, Any]]]:
    wf_ids = workflow_ids(session, run)
    nodes = [
        {
            "id": s.job.exec_job_id,
            "type": s.job.type_desc,
            "state": s.state,
            "transformation": s.transformation,
        }
        for s in _summaries(session, wf_ids)
    ]
    edges = (
        [
            {"parent": e.parent_exec_job_id, "child": e.child_exec_job_id}
            for e in session.scalars(
                select(JobEdge)
                .where(JobEdge.wf_id.in_(wf_ids))
                .order_by(JobEdge.parent_exec_job_id, JobEdge.child_exec_job_id)
            )
        ]
        if wf_ids
        else []
    )
    return {"nodes": nodes, "edges": edges}


def output_dir(settings: Settings, run: Run) -> Path:
    """Where the local output site delivers (`<run root>/wf-output`, see PlanOptions)."""
    return run_root(settings, run.id) / "wf-output"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_files(session: Session, settings: Settings, run: Run) -> list[dict[str, Any]]:
    """Output files delivered to the run's output directory, with size and sha256."""
    root = output_dir(settings, run)
    if not root.is_dir():
        return []
    known: dict[str, str] = {}
    wf_ids = workflow_ids(session, run)
    if wf_ids:
        rows = session.execute(
            select(RCLfn.lfn, RCMeta.value)
            .join(RCMeta, RCMeta.lfn_id == RCLfn.lfn_id)
            .where(RCLfn.wf_id.in_(wf_ids), RCMeta.key == "checksum.value")
        )
        known = {lfn: value for lfn, value in rows if value}
    files = []
    real_root = root.resolve()
    # Jobs write this directory: a symlink they leave must not make the gateway read (and
    # hash) a file elsewhere.
    outputs = (
        p
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and p.resolve().is_relative_to(real_root)
    )
    for path in sorted(outputs):
        rel = path.relative_to(root).as_posix()
        files.append(
            {
                "lfn": rel,
                "size": path.stat().st_size,
                "sha256": known.get(rel) or _sha256(path),
            }
        )
    return files


def file_path(settings: Settings, run: Run, lfn: str) -> Path:
    """The output file `lfn`, refusing anything outside the run's output directory."""
    root = output_dir(settings, run).resolve()
    path = (root / lfn).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"no output file {lfn!r} in run {run.id}")
    return path
