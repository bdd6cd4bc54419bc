"""pegasus-status and pegasus-analyzer over provenance rows (SPEC.md §6), for any run.

Both read only the database, so they work the same for our runs and for imported Pegasus runs.
Status takes DAGMan's own node counts from `dagstatus` when the monitor saw a node status file
or dagman.out, and otherwise derives them from each job's last instance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from gateway.db.models.provenance import (
    DagStatus,
    Host,
    Invocation,
    Job,
    JobInstance,
    JobState,
    Workflow,
    WorkflowState,
)
from gateway.services import status_text
from gateway.services.statistics import WorkflowInfo, descendants, workflow_info

# ---- pegasus-status -----------------------------------------------------------------------


@dataclass
class DagProgress:
    """One row of pegasus-status' table."""

    wf_id: int
    dagname: str
    unready: int = 0
    ready: int = 0
    pre: int = 0
    queued: int = 0
    post: int = 0
    succeeded: int = 0
    failed: int = 0
    total: int = 0
    state: str = "Running"
    depth: int = 0

    @property
    def percent_done(self) -> float:
        return status_text.percent(self.succeeded, self.total)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["percent_done"] = self.percent_done
        return data


@dataclass
class StatusReport:
    dags: list[DagProgress]
    """Root first, then sub-workflows depth first (the rows of `pegasus-status -l`)."""
    totals: DagProgress
    tree: status_text.DagNode

    def to_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals.to_dict(),
            "dags": {
                ("root" if i == 0 else d.dagname): d.to_dict() for i, d in enumerate(self.dags)
            },
        }


_QUEUED = (
    "SUBMIT", "EXECUTE", "JOB_HELD", "JOB_RELEASED", "IMAGE_SIZE", "JOB_EVICTED",
    "GRID_SUBMIT", "GLOBUS_SUBMIT", "PRE_SCRIPT_SUCCESS", "PRE_SCRIPT_TERMINATED",
)  # fmt: skip
_POST = ("JOB_TERMINATED", "JOB_SUCCESS", "JOB_FAILURE", "JOB_ABORTED", "POST_SCRIPT_STARTED")


def _last_states(wf_id: int) -> Any:
    """Per job of `wf_id`: its last instance's exit code and last state (subquery)."""
    last = (
        select(JobInstance.job_id, func.max(JobInstance.job_submit_seq).label("seq"))
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id == wf_id)
        .group_by(JobInstance.job_id)
        .subquery()
    )
    inst = (
        select(JobInstance.job_id, JobInstance.job_instance_id, JobInstance.exitcode)
        .join(
            last,
            and_(last.c.job_id == JobInstance.job_id, last.c.seq == JobInstance.job_submit_seq),
        )
        .subquery()
    )
    top = (
        select(
            JobState.job_instance_id,
            func.max(JobState.timestamp * 1000000 + JobState.jobstate_submit_seq).label("k"),
        )
        .where(JobState.job_instance_id.in_(select(inst.c.job_instance_id)))
        .group_by(JobState.job_instance_id)
        .subquery()
    )
    # Real Pegasus runs record two states at one (timestamp, seq): a PRE-script failure is
    # both PRE_SCRIPT_FAILED and JOB_FAILURE. One row per job, the name pegasus-analyzer shows.
    return (
        select(
            inst.c.job_id,
            inst.c.exitcode,
            func.min(JobState.state).label("state"),
        )
        .select_from(inst)
        .outerjoin(top, top.c.job_instance_id == inst.c.job_instance_id)
        .outerjoin(
            JobState,
            and_(
                JobState.job_instance_id == top.c.job_instance_id,
                JobState.timestamp * 1000000 + JobState.jobstate_submit_seq == top.c.k,
            ),
        )
        .group_by(inst.c.job_id, inst.c.exitcode)
        .subquery()
    )


def _derived_progress(session: Session, wf_id: int, prog: DagProgress) -> None:
    """Node counts from jobs and their last states, when DAGMan's own counts are unknown."""
    ls = _last_states(wf_id)
    post_jobs = Job.post_script.is_not(None)
    row = session.execute(
        select(
            func.count(Job.job_id),
            func.sum(case((ls.c.job_id.is_(None), 1), else_=0)),
            func.sum(case((ls.c.state == "PRE_SCRIPT_STARTED", 1), else_=0)),
            func.sum(case((ls.c.state.in_(_QUEUED), 1), else_=0)),
            func.sum(case((and_(ls.c.state.in_(_POST), post_jobs), 1), else_=0)),
            func.sum(
                case(
                    (
                        and_(
                            ls.c.exitcode == 0,
                            ls.c.state.in_(
                                (
                                    "POST_SCRIPT_SUCCESS",
                                    "POST_SCRIPT_TERMINATED",
                                    "JOB_SUCCESS",
                                    "JOB_TERMINATED",
                                )
                            ),  # fmt: skip
                            ~and_(ls.c.state.in_(_POST), post_jobs),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            func.sum(
                case(
                    (
                        and_(
                            ls.c.exitcode != 0,
                            ~ls.c.state.in_(_QUEUED),
                            ~and_(ls.c.state.in_(_POST), post_jobs),
                            ls.c.state != "PRE_SCRIPT_STARTED",
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
        )
        .select_from(Job)
        .outerjoin(ls, ls.c.job_id == Job.job_id)
        .where(Job.wf_id == wf_id)
    ).one()
    prog.total = int(row[0] or 0)
    prog.unready = int(row[1] or 0)
    prog.pre, prog.queued, prog.post = int(row[2] or 0), int(row[3] or 0), int(row[4] or 0)
    prog.succeeded, prog.failed = int(row[5] or 0), int(row[6] or 0)


def _workflow_end(session: Session, wf_id: int) -> int | None | str:
    """The last workflow state: the DAGMan exit status, or "running"/None (never started)."""
    last = session.execute(
        select(WorkflowState.state, WorkflowState.status)
        .where(WorkflowState.wf_id == wf_id)
        .order_by(
            WorkflowState.restart_count.desc(),
            WorkflowState.timestamp.desc(),
            # a run shorter than a second has both states at one (whole-second) timestamp
            case((WorkflowState.state == "WORKFLOW_TERMINATED", 1), else_=0).desc(),
        )
        .limit(1)
    ).first()
    if last is None:
        return None
    if last[0] == "WORKFLOW_STARTED":
        return "running"
    return int(last[1]) if last[1] is not None else 0


def dag_progress(session: Session, wf_id: int, depth: int = 0) -> DagProgress:
    wf = session.get(Workflow, wf_id)
    if wf is None:
        raise LookupError(f"workflow {wf_id} not found")
    prog = DagProgress(wf_id=wf_id, dagname=wf.dag_file_name or wf.wf_uuid, depth=depth)
    ds = session.get(DagStatus, wf_id)
    end = _workflow_end(session, wf_id)
    exit_status: int | None = None
    if ds is not None:
        prog.total, prog.succeeded, prog.pre = ds.nodes_total, ds.done, ds.pre
        prog.queued, prog.post, prog.ready = ds.queued, ds.post, ds.ready
        prog.unready, prog.failed = ds.unready, ds.failed
        exit_status = ds.exit_status
        if ds.dag_status != 0:
            prog.state = "Failure"
        elif prog.total and prog.succeeded == prog.total:
            prog.state = "Success"
    else:
        _derived_progress(session, wf_id, prog)
        if prog.total and prog.succeeded == prog.total:
            prog.state = "Success"
    if isinstance(end, int):
        exit_status = end if exit_status is None else exit_status
    if exit_status is not None and end != "running":
        prog.state = "Success" if exit_status == 0 else "Failure"
    return prog


def status(session: Session, wf_id: int) -> StatusReport:
    """pegasus-status' progress part: one row per DAG (root first, sub-workflows depth first
    under their parents, siblings in submit-directory order as pegasus-status walks them)."""
    infos = descendants(session, wf_id)
    children: dict[int, list[WorkflowInfo]] = {}
    for info in infos[1:]:
        children.setdefault(info.parent_wf_id or wf_id, []).append(info)

    dags: list[DagProgress] = []

    def node(info: WorkflowInfo, depth: int) -> status_text.DagNode:
        dag = dag_progress(session, info.wf_id, depth)
        dags.append(dag)
        kids = sorted(children.get(info.wf_id, []), key=_folder_order)
        return status_text.DagNode(dag, dag.dagname, [node(k, depth + 1) for k in kids])

    tree = node(infos[0], 0)
    totals = DagProgress(wf_id=wf_id, dagname="TOTALS")
    for d in dags:
        for f in ("unready", "ready", "pre", "queued", "post", "succeeded", "failed", "total"):
            setattr(totals, f, getattr(totals, f) + getattr(d, f))
    totals.state = dags[0].state
    return StatusReport(dags=dags, totals=totals, tree=tree)


def _folder_order(info: WorkflowInfo) -> tuple[tuple[str, ...], int]:
    """Sibling sub-workflows in the order pegasus-status walks their submit directories."""
    return (Path(info.submit_dir).parts if info.submit_dir else (), info.wf_id)


def render_status(report: StatusReport, long: bool = False) -> str:
    """The progress table of pegasus-status (short form, or `-l` with one row per DAG), drawn
    by the same renderer as `aerie status SUBMITDIR` (without its leading blank line)."""
    return status_text.render_progress(report.tree, long=long).removeprefix("\n")


# ---- pegasus-analyzer ---------------------------------------------------------------------


@dataclass
class TaskReport:
    task_submit_seq: int
    transformation: str | None
    abs_task_id: str | None
    site: str | None
    hostname: str | None
    executable: str | None
    arguments: str | None
    exitcode: int | None
    work_dir: str | None
    failed_step: str | None
    stdout: str
    stderr: str


@dataclass
class FailedJob:
    name: str
    last_state: str | None
    site: str | None
    submit_file: str | None
    stdout_file: str | None
    stderr_file: str | None
    exitcode: int | None
    executable: str | None
    argv: str | None
    pre_script: str | None
    stderr_text: str | None
    tasks: list[TaskReport] = field(default_factory=list)


@dataclass
class HeldJob:
    name: str
    submit_file: str | None
    job_instance_id: int
    reason: str | None


@dataclass
class Analysis:
    submit_dir: str | None
    workflow_status: str
    total: int
    succeeded: int
    failed: int
    held: int
    unsubmitted: int
    held_jobs: list[HeldJob]
    failed_jobs: list[FailedJob]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _raw_to_regular(raw: int | None) -> int | None:
    if raw is None:
        return None
    if raw < 0:
        return -128
    if raw & 127:
        return -(raw & 127)
    return raw >> 8


def _split_stdout_text(text: str | None, n: int) -> tuple[str, str]:
    """A task's stdout and stderr out of stampede's `#@ N stdout` / `#@ N stderr` sections."""
    if not text:
        return "", ""
    sections: dict[str, str] = {}
    current = None
    buf: list[str] = []
    for line in text.split("\n"):
        if line.startswith("#@ ") and line.rsplit(" ", 1)[-1] in ("stdout", "stderr"):
            if current:
                sections[current] = "\n".join(buf).strip("\n")
            current, buf = line[3:], []
            continue
        buf.append(line)
    if current:
        sections[current] = "\n".join(buf).strip("\n")
    return sections.get(f"{n} stdout", ""), sections.get(f"{n} stderr", "")


def analyze(session: Session, wf_id: int) -> Analysis:
    """pegasus-analyzer's summary and per-failed-job details for one workflow (all job types)."""
    info = workflow_info(session, wf_id)
    ls = _last_states(wf_id)
    row = session.execute(
        select(
            func.count(Job.job_id),
            func.sum(case((ls.c.exitcode == 0, 1), else_=0)),
            func.sum(case((ls.c.exitcode != 0, 1), else_=0)),
        )
        .select_from(Job)
        .outerjoin(ls, ls.c.job_id == Job.job_id)
        .where(Job.wf_id == wf_id)
    ).one()
    total, succeeded, failed = int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)
    last = (
        select(JobInstance.job_id, func.max(JobInstance.job_submit_seq).label("seq"))
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id == wf_id)
        .group_by(JobInstance.job_id)
        .subquery()
    )
    held_rows = session.execute(
        select(
            Job.exec_job_id,
            Job.submit_file,
            JobInstance.job_instance_id,
            func.max(JobState.reason),
        )
        .join(last, last.c.job_id == Job.job_id)
        .join(
            JobInstance,
            and_(JobInstance.job_id == Job.job_id, JobInstance.job_submit_seq == last.c.seq),
        )
        .join(JobState, JobState.job_instance_id == JobInstance.job_instance_id)
        .where(Job.wf_id == wf_id, JobState.state == "JOB_HELD")
        .group_by(Job.exec_job_id, Job.submit_file, JobInstance.job_instance_id)
        .order_by(Job.exec_job_id)
    ).all()
    held = [HeldJob(r[0], r[1], int(r[2]), r[3]) for r in held_rows]
    end = _workflow_end(session, wf_id)
    wf_status = (
        "unknown" if end is None else "running" if end == "running"
        else "success" if end == 0 else "failure"
    )  # fmt: skip
    failed_jobs: list[FailedJob] = []
    frows = session.execute(
        select(
            Job.exec_job_id,
            ls.c.state,
            JobInstance.site,
            Job.submit_file,
            JobInstance.stdout_file,
            JobInstance.stderr_file,
            JobInstance.exitcode,
            Job.executable,
            Job.argv,
            Job.pre_script,
            JobInstance.stderr_text,
            JobInstance.job_instance_id,
            JobInstance.stdout_text,
        )
        .join(ls, ls.c.job_id == Job.job_id)
        .join(last, last.c.job_id == Job.job_id)
        .join(
            JobInstance,
            and_(JobInstance.job_id == Job.job_id, JobInstance.job_submit_seq == last.c.seq),
        )
        .where(Job.wf_id == wf_id, ls.c.exitcode != 0)
        .order_by(JobInstance.job_submit_seq)
    ).all()
    for r in frows:
        fj = FailedJob(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])
        invs = session.execute(
            select(
                Invocation.task_submit_seq,
                Invocation.transformation,
                Invocation.abs_task_id,
                Invocation.executable,
                Invocation.argv,
                Invocation.exitcode,
                Invocation.failed_step,
                Host.site,
                Host.hostname,
                JobInstance.work_dir,
            )
            .join(JobInstance, JobInstance.job_instance_id == Invocation.job_instance_id)
            .outerjoin(Host, Host.host_id == JobInstance.host_id)
            .where(Invocation.job_instance_id == r[11], Invocation.task_submit_seq >= -1)
            .order_by(Invocation.task_submit_seq)
        ).all()
        any_failed = any(i[5] not in (0, None) for i in invs)
        for i in invs:
            if any_failed and i[5] == 0:
                continue
            out, err = _split_stdout_text(r[12], i[0]) if i[0] >= 0 else (r[12] or "", "")
            fj.tasks.append(
                TaskReport(
                    task_submit_seq=i[0],
                    transformation=i[1],
                    abs_task_id=i[2],
                    executable=i[3],
                    arguments=i[4],
                    exitcode=_raw_to_regular(i[5]),
                    failed_step=i[6],
                    site=i[7] or r[2],
                    hostname=i[8],
                    work_dir=i[9],
                    stdout=out,
                    stderr=err,
                )
            )
        failed_jobs.append(fj)
    return Analysis(
        submit_dir=info.submit_dir,
        workflow_status=wf_status,
        total=total,
        succeeded=succeeded,
        failed=failed,
        held=len(held),
        unsubmitted=total - succeeded - failed,
        held_jobs=held,
        failed_jobs=failed_jobs,
    )


def render_analysis(a: Analysis) -> str:
    """pegasus-analyzer's report text."""

    def pct(n: int) -> str:
        return f"{n: 6d} ({100 * (1.0 * n / (a.total or 1)):3.2f}%)"

    lines = [
        "",
        "Summary".center(80, "*"),
        "",
        f" Submit Directory   : {a.submit_dir}",
        f" Workflow Status    : {a.workflow_status}",
        f" Total jobs         : {pct(a.total)}",
        f" # jobs succeeded   : {pct(a.succeeded)}",
        f" # jobs failed      : {pct(a.failed)}",
        f" # jobs held        : {pct(a.held)}",
        f" # jobs unsubmitted : {pct(a.unsubmitted)}",
        "",
    ]
    if a.total and a.unsubmitted == a.total:
        lines += [" Looks like workflow did not start".center(80, "*"), ""]
    if a.held_jobs:
        lines.append("Held jobs' details".center(80, "*"))
        for h in a.held_jobs:
            lines += [
                "",
                h.name.center(80, "="),
                "",
                # pegasus-analyzer prints `<job>.sub` here, without the 00/00/ directory
                f"submit file            : {h.name}.sub",
                f"last_job_instance_id   : {h.job_instance_id}",
                f"reason                 : {h.reason}",
                "",
            ]
    if a.failed_jobs:
        lines.append("Failed jobs' details".center(80, "*"))
    for j in a.failed_jobs:
        lines += [
            "",
            j.name.center(80, "="),
            "",
            f" last state: {j.last_state}",
            f"       site: {j.site or '-'}",
            f"submit file: {j.submit_file}",
            f"output file: {j.stdout_file}",
            f" error file: {j.stderr_file}",
            "",
        ]
        shown = False
        for t in j.tasks:
            n = t.task_submit_seq
            label = f"Task #{n}"  # pegasus-analyzer: "Task #-1" for the PRE script
            lines += [
                f"{label} - Summary".center(80, "-"),
                "",
                f"site        : {t.site or '-'}",
                f"hostname    : {t.hostname or '-'}",
                f"executable  : {t.executable}",
                f"arguments   : {t.arguments or '-'}",
                f"exitcode    : {t.exitcode}",
                f"working dir : {t.work_dir or '-'}",
            ]
            if t.failed_step:
                lines.append(f"failed step : {t.failed_step}")
            lines.append("")
            name = f"{label} - {t.transformation} - {t.abs_task_id}"
            if t.stdout:
                shown = True
                lines += [f"{name} - stdout".center(80, "-"), "", t.stdout, ""]
            if t.stderr:
                shown = True
                lines += [f"{name} - Kickstart stderr".center(80, "-"), "", t.stderr, ""]
        if not shown and j.stderr_text:
            lines += [f"Job stderr file - {j.stderr_file}".center(80, "-"), "", j.stderr_text, ""]
    lines += ["Done".center(80, "*"), "", "aerie analyze: end of status report", ""]
    return "\n".join(lines)


def workflow_for_dir(session: Session, submit_dir: str) -> int | None:
    """The workflow monitored from `submit_dir`, if any."""
    wf_id = session.scalar(select(Workflow.wf_id).where(Workflow.submit_dir == submit_dir))
    return None if wf_id is None else int(wf_id)
