"""Read models the dashboard needs beyond the API's: job-instance time spans for the Gantt
timeline, and whether a run came from `aerie import`.

Like `run_details`, every function takes a `Run` the caller obtained through
`get_run_for_user_or_404`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.models import Job, JobInstance, JobState, Run, Task
from gateway.services.run_details import workflow_ids

IMPORT_ENGINE = "pegasus-import"

_SUBMIT = frozenset({"SUBMIT", "GRID_SUBMIT", "GLOBUS_SUBMIT", "PRE_SCRIPT_STARTED"})
_EXECUTE = frozenset({"EXECUTE"})
_END = frozenset(
    {
        "JOB_TERMINATED",
        "JOB_SUCCESS",
        "JOB_FAILURE",
        "JOB_ABORTED",
        "POST_SCRIPT_TERMINATED",
        "POST_SCRIPT_SUCCESS",
        "POST_SCRIPT_FAILURE",
        "SUBMIT_FAILED",
        "PRE_SCRIPT_FAILURE",
    }
)
_FAILED = frozenset(
    {"JOB_FAILURE", "POST_SCRIPT_FAILURE", "PRE_SCRIPT_FAILURE", "JOB_ABORTED", "SUBMIT_FAILED"}
)
_SUCCEEDED = frozenset({"JOB_SUCCESS", "POST_SCRIPT_SUCCESS"})


def is_imported(run: Run) -> bool:
    """Runs written by the Pegasus importer: engine `pegasus-import`, label `imported`."""
    labels = run.labels or {}
    return run.engine == IMPORT_ENGINE or str(labels.get("imported", "")).lower() == "true"


@dataclass
class InstanceSpan:
    """One attempt of one job on the time axis (epoch seconds); None where not reached yet."""

    job: str
    type: str
    attempt: int
    submitted: float | None
    started: float | None
    ended: float | None
    outcome: str  # succeeded | failed | running | queued | held


def instance_spans(session: Session, run: Run, limit: int = 300) -> tuple[list[InstanceSpan], int]:
    """The first `limit` job attempts in submit order, with the total number of attempts.

    Only those attempts' states are read, so a run of 100k jobs costs what a small one does.
    """
    wf_ids = workflow_ids(session, run)
    if not wf_ids:
        return [], 0
    total = (
        session.scalar(
            select(func.count())
            .select_from(JobInstance)
            .join(Job, Job.job_id == JobInstance.job_id)
            .where(Job.wf_id.in_(wf_ids))
        )
        or 0
    )
    rows = session.execute(
        select(JobInstance.job_instance_id, Job.job_id, Job.exec_job_id, Job.type_desc)
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id.in_(wf_ids))
        .order_by(JobInstance.job_submit_seq, JobInstance.job_instance_id)
        .limit(limit)
    ).all()
    ids = [r[0] for r in rows]
    states: dict[int, list[tuple[str, float]]] = {}
    for inst_id, state, stamp in session.execute(
        select(JobState.job_instance_id, JobState.state, JobState.timestamp)
        .where(JobState.job_instance_id.in_(ids))
        .order_by(JobState.timestamp, JobState.jobstate_submit_seq)
    ):
        states.setdefault(inst_id, []).append((state, float(stamp)))
    # A job's attempt number is its rank among its own instances (job_submit_seq counts
    # submissions across the whole workflow).
    attempt_of: dict[int, int] = {}
    seen_jobs: dict[int, int] = {}
    for inst_id, job_id, _name, _type in rows:
        seen_jobs[job_id] = seen_jobs.get(job_id, 0) + 1
        attempt_of[inst_id] = seen_jobs[job_id]
    spans = []
    for inst_id, _job_id, name, type_ in rows:
        seen = states.get(inst_id, [])
        submitted = next((t for s, t in seen if s in _SUBMIT), seen[0][1] if seen else None)
        started = next((t for s, t in seen if s in _EXECUTE), None)
        ended = next((t for s, t in reversed(seen) if s in _END), None)
        names = {s for s, _ in seen}
        if names & _FAILED:
            outcome = "failed"
        elif names & _SUCCEEDED:
            outcome = "succeeded"
        elif seen and seen[-1][0] == "JOB_HELD":
            outcome = "held"
        elif started is not None:
            outcome = "running"
        else:
            outcome = "queued"
        spans.append(
            InstanceSpan(name, type_, attempt_of[inst_id], submitted, started, ended, outcome)
        )
    spans.sort(key=lambda s: (s.submitted or s.started or float("inf"), s.job, s.attempt))
    return spans, total


@dataclass
class JobFacets:
    """How many jobs a run has, and the values its jobs table can be filtered by."""

    jobs: int
    types: list[str]
    transformations: list[str]


def job_facets(session: Session, run: Run) -> JobFacets:
    wf_ids = workflow_ids(session, run)
    if not wf_ids:
        return JobFacets(0, [], [])
    jobs = session.scalar(select(func.count()).select_from(Job).where(Job.wf_id.in_(wf_ids)))
    types = session.scalars(
        select(Job.type_desc).where(Job.wf_id.in_(wf_ids)).distinct().order_by(Job.type_desc)
    )
    transformations = session.scalars(
        select(Task.transformation)
        .where(Task.wf_id.in_(wf_ids), Task.job_id.is_not(None), Task.transformation.is_not(None))
        .distinct()
        .order_by(Task.transformation)
    )
    return JobFacets(jobs or 0, [t for t in types if t], [t for t in transformations if t])
