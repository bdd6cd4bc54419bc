"""Read models the dashboard needs beyond the API's: job-instance time spans for the Gantt
timeline, the jobs table one page at a time (`run_details.list_jobs` reads every job first),
the values the jobs table filters by, and whether a run came from `aerie import`.

Like `run_details`, every function takes a `Run` the caller obtained through
`get_run_for_user_or_404`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.models import Job, JobInstance, JobState, Run, Task
from gateway.services.labels import stored_labels
from gateway.services.run_details import JobSummary, attempt_state, workflow_ids

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
        "POST_SCRIPT_FAILED",
        "SUBMIT_FAILED",
        "PRE_SCRIPT_FAILURE",
        "PRE_SCRIPT_FAILED",
    }
)


def is_imported(run: Run) -> bool:
    """Runs written by the Pegasus importer: engine `pegasus-import`, label `imported`."""
    return run.engine == IMPORT_ENGINE or stored_labels(run.labels).get("imported") == "true"


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
        select(
            JobInstance.job_instance_id,
            Job.job_id,
            Job.exec_job_id,
            Job.type_desc,
            Job.post_script.is_not(None),
        )
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
    for inst_id, job_id, _name, _type, _post in rows:
        seen_jobs[job_id] = seen_jobs.get(job_id, 0) + 1
        attempt_of[inst_id] = seen_jobs[job_id]
    spans = []
    for inst_id, _job_id, name, type_, has_post in rows:
        seen = states.get(inst_id, [])
        submitted = next((t for s, t in seen if s in _SUBMIT), seen[0][1] if seen else None)
        started = next((t for s, t in seen if s in _EXECUTE), None)
        ended = next((t for s, t in reversed(seen) if s in _END), None)
        outcome = attempt_state([s for s, _ in seen], bool(has_post))
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


def jobs_page(
    session: Session,
    run: Run,
    *,
    type_: str | None = None,
    transformation: str | None = None,
    offset: int = 0,
    limit: int = 200,
) -> tuple[list[JobSummary], bool]:
    """One page of the jobs table, by node name, and whether more follow.

    `run_details.list_jobs` summarises every job of the run before it pages (it must, to filter
    by state); without a state filter this reads only the page's jobs, so the run page of a
    100k-job run costs what a small one does. States are derived exactly as there.
    """
    wf_ids = workflow_ids(session, run)
    if not wf_ids:
        return [], False
    stmt = select(Job).where(Job.wf_id.in_(wf_ids))
    if type_:
        stmt = stmt.where(Job.type_desc == type_)
    if transformation:
        first = (
            select(Task.job_id, func.min(Task.transformation).label("tr"))
            .where(Task.wf_id.in_(wf_ids), Task.job_id.is_not(None))
            .group_by(Task.job_id)
            .subquery()
        )
        stmt = stmt.join(first, first.c.job_id == Job.job_id).where(first.c.tr == transformation)
    jobs = list(
        session.scalars(stmt.order_by(Job.exec_job_id, Job.job_id).offset(offset).limit(limit + 1))
    )
    more = len(jobs) > limit
    return summarise(session, jobs[:limit]), more


def summarise(session: Session, jobs: list[Job]) -> list[JobSummary]:
    """`JobSummary` rows (state, retries, exit, site) for just these jobs."""
    ids = [j.job_id for j in jobs]
    if not ids:
        return []
    attempts: dict[int, list[JobInstance]] = {}
    for inst in session.scalars(
        select(JobInstance)
        .where(JobInstance.job_id.in_(ids))
        .order_by(JobInstance.job_id, JobInstance.job_submit_seq)
    ):
        attempts.setdefault(inst.job_id, []).append(inst)
    last = {job_id: rows[-1] for job_id, rows in attempts.items()}
    seen: dict[int, list[str]] = {}
    for inst_id, state in session.execute(
        select(JobState.job_instance_id, JobState.state).where(
            JobState.job_instance_id.in_([i.job_instance_id for i in last.values()])
        )
    ):
        seen.setdefault(inst_id, []).append(state)
    transformations: dict[int, str | None] = {}
    for job_id, name in session.execute(
        select(Task.job_id, func.min(Task.transformation))
        .where(Task.job_id.in_(ids))
        .group_by(Task.job_id)
    ):
        if job_id is not None:
            transformations[job_id] = name
    out = []
    for job in jobs:
        found = last.get(job.job_id)
        tr = transformations.get(job.job_id)
        if found is None:
            out.append(JobSummary(job, "unsubmitted", tr, 0, None, None))
            continue
        inst = found
        state = attempt_state(seen.get(inst.job_instance_id, []), job.post_script is not None)
        retries = len(attempts[job.job_id]) - 1
        out.append(JobSummary(job, state, tr, retries, inst.exitcode, inst.site))
    return out
