"""pegasus-statistics as SQL aggregates over the provenance rows (SPEC.md §5).

Every figure is one query whose definition follows `StampedeStatistics` (named in each
docstring), so a run is never loaded into Python and the same code serves our runs and imported
Pegasus runs, on SQLite and PostgreSQL alike. Text layouts live in `statistics_text.py`.

Scope: `root_wf_id` plus, when `expand` is true, every workflow whose `root_wf_id` is it (the
"expanded" object pegasus-statistics uses for the summary); per-workflow tables use
`expand=False`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from gateway.db.models.provenance import (
    Host,
    Integrity,
    Invocation,
    Job,
    JobInstance,
    JobState,
    Tag,
    Task,
    Workflow,
    WorkflowState,
)

SUBWF_TYPES = ("dax", "dag")


class StatisticsError(LookupError):
    """The workflow asked about does not exist."""


@dataclass
class CountRow:
    """One row of the summary table (Tasks, Jobs or Sub-Workflows)."""

    succeeded: int
    failed: int
    incomplete: int
    total: int
    retries: int
    total_retries: int  # Succeeded + Failed + Retries, as Pegasus defines it


@dataclass
class IntegrityMetric:
    type: str
    file_type: str | None
    count: int
    duration: float


@dataclass
class Summary:
    """`summary.txt`: counts, wall times, badput and integrity figures."""

    tasks: CountRow
    jobs: CountRow
    sub_workflows: CountRow
    workflow_wall_time: float | None
    cum_job_wall_time: float | None
    cum_job_goodput: float | None
    cum_job_badput: float | None
    submit_side_wall_time: float | None
    submit_side_goodput: float | None
    submit_side_badput: float | None
    integrity: list[IntegrityMetric] = field(default_factory=list)
    integrity_errors: int | None = None
    failed_jobs_with_integrity_errors: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class JobRow:
    """One line of `jobs.txt` (one job instance)."""

    job: str
    try_: int
    site: str | None
    kickstart: float | None
    multiplier: int
    kickstart_mult: float | None
    cpu_time: float | None
    post: float | None
    condor_q_time: float | None
    resource: float | None
    runtime: float | None
    seqexec: float | None
    seqexec_delay: float | None
    exitcode: int | None
    hostname: str | None


@dataclass
class TransformationRow:
    """One line of `breakdown.txt`: invocations of a transformation by outcome."""

    transformation: str
    type: str  # successful | failed
    count: int
    min: float | None
    max: float | None
    mean: float | None
    total: float | None
    min_maxrss: float | None
    max_maxrss: float | None
    mean_maxrss: float | None
    min_avg_cpu: float | None
    max_avg_cpu: float | None
    mean_avg_cpu: float | None


@dataclass
class HostRow:
    """Per-host totals of job instances and invocations (the "by host" breakdown)."""

    hostname: str
    site: str | None
    job_instances: int
    job_runtime: float | None
    invocations: int
    invocation_runtime: float | None


@dataclass
class TimeBucket:
    """A count and a runtime in one hour (epoch hour number), optionally per host."""

    hour: int
    count: int
    runtime: float
    host: str | None = None


@dataclass
class TimeSeries:
    jobs: list[TimeBucket]
    invocations: list[TimeBucket]
    jobs_per_host: list[TimeBucket]
    invocations_per_host: list[TimeBucket]


@dataclass
class WorkflowInfo:
    wf_id: int
    wf_uuid: str
    dax_label: str | None
    submit_dir: str | None
    root_wf_id: int | None
    parent_wf_id: int | None


# ---- scope helpers ----------------------------------------------------------------------------
def workflow_info(session: Session, wf_id: int) -> WorkflowInfo:
    wf = session.get(Workflow, wf_id)
    if wf is None:
        raise StatisticsError(f"workflow {wf_id} not found")
    return WorkflowInfo(
        wf.wf_id, wf.wf_uuid, wf.dax_label, wf.submit_dir, wf.root_wf_id, wf.parent_wf_id
    )


def descendants(session: Session, wf_id: int) -> list[WorkflowInfo]:
    """The workflow and every workflow below it, root first (for per-workflow tables)."""
    out = [workflow_info(session, wf_id)]
    frontier = [wf_id]
    while frontier:
        rows = session.scalars(select(Workflow).where(Workflow.parent_wf_id.in_(frontier))).all()
        frontier = [w.wf_id for w in rows if w.wf_id != wf_id]
        out.extend(
            WorkflowInfo(
                w.wf_id, w.wf_uuid, w.dax_label, w.submit_dir, w.root_wf_id, w.parent_wf_id
            )
            for w in rows
            if w.wf_id != wf_id
        )
    return out


def _scope(session: Session, wf_id: int, expand: bool) -> list[int]:
    if not expand:
        return [wf_id]
    return [w.wf_id for w in descendants(session, wf_id)]


def _job_filter(kind: str) -> ColumnElement[bool]:
    if kind == "nonsub":
        return Job.type_desc.notin_(SUBWF_TYPES)
    if kind == "subwf":
        return Job.type_desc.in_(SUBWF_TYPES)
    if kind == "all":
        return literal(True)
    return Job.type_desc == kind


def _last_instances(wf_ids: Sequence[int]) -> Any:
    """(job_id, max job_submit_seq) of every job with instances: the "last instance" rule."""
    return (
        select(JobInstance.job_id, func.max(JobInstance.job_submit_seq).label("seq"))
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id.in_(wf_ids))
        .group_by(JobInstance.job_id)
        .subquery()
    )


def _int(value: Any) -> int:
    return int(value or 0)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# ---- summary ----------------------------------------------------------------------------------
def job_counts(session: Session, wf_ids: Sequence[int], kind: str = "nonsub") -> CountRow:
    """`get_total_jobs_status`, `get_total_succeeded_failed_jobs_status`, `..._jobs_retries`."""
    flt = _job_filter(kind)
    total = _int(
        session.scalar(select(func.count()).select_from(Job).where(Job.wf_id.in_(wf_ids), flt))
    )
    last = _last_instances(wf_ids)
    ok_fail = session.execute(
        select(
            func.sum(case((JobInstance.exitcode == 0, 1), else_=0)),
            func.sum(case((JobInstance.exitcode != 0, 1), else_=0)),
        )
        .select_from(Job)
        .join(last, last.c.job_id == Job.job_id)
        .join(
            JobInstance,
            and_(JobInstance.job_id == Job.job_id, JobInstance.job_submit_seq == last.c.seq),
        )
        .where(Job.wf_id.in_(wf_ids), flt)
    ).one()
    retries = session.execute(
        select(func.count(JobInstance.job_instance_id), func.count(distinct(JobInstance.job_id)))
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id.in_(wf_ids), flt)
    ).one()
    succeeded, failed = _int(ok_fail[0]), _int(ok_fail[1])
    n_retries = _int(retries[0]) - _int(retries[1])
    return CountRow(
        succeeded=succeeded,
        failed=failed,
        incomplete=total - succeeded - failed,
        total=total,
        retries=n_retries,
        total_retries=succeeded + failed + n_retries,
    )


def task_counts(session: Session, wf_ids: Sequence[int]) -> CountRow:
    """`get_total_tasks_status`, `get_total_succeeded/failed_tasks_status`, `..._tasks_retries`.

    Succeeded/failed count distinct (workflow, task id) among the invocations of each job's
    last instance; retries = all task invocations minus distinct tasks.
    """
    total = _int(
        session.scalar(
            select(func.count())
            .select_from(Task)
            .where(
                Task.wf_id.in_(wf_ids),
                Task.job_id.is_not(None),
                Task.type_desc.notin_(SUBWF_TYPES),
            )
        )
    )
    last = _last_instances(wf_ids)

    def distinct_tasks(cond: ColumnElement[bool]) -> int:
        inner = (
            select(Invocation.wf_id, Invocation.abs_task_id)
            .join(JobInstance, JobInstance.job_instance_id == Invocation.job_instance_id)
            .join(Job, Job.job_id == JobInstance.job_id)
            .join(
                last,
                and_(last.c.job_id == Job.job_id, last.c.seq == JobInstance.job_submit_seq),
            )
            .where(
                Invocation.wf_id.in_(wf_ids),
                Invocation.abs_task_id.is_not(None),
                Invocation.task_submit_seq >= 0,
                Job.type_desc.notin_(SUBWF_TYPES),
                cond,
            )
            .distinct()
            .subquery()
        )
        return _int(session.scalar(select(func.count()).select_from(inner)))

    succeeded = distinct_tasks(Invocation.exitcode == 0)
    failed = distinct_tasks(Invocation.exitcode != 0)
    all_inv = _int(
        session.scalar(
            select(func.count(Invocation.invocation_id))
            .join(JobInstance, JobInstance.job_instance_id == Invocation.job_instance_id)
            .join(Job, Job.job_id == JobInstance.job_id)
            .where(
                Invocation.wf_id.in_(wf_ids),
                Invocation.abs_task_id.is_not(None),
                Job.type_desc.notin_(SUBWF_TYPES),
            )
        )
    )
    distinct_all = _int(
        session.scalar(
            select(func.count()).select_from(
                select(Invocation.wf_id, Invocation.abs_task_id)
                .join(JobInstance, JobInstance.job_instance_id == Invocation.job_instance_id)
                .join(Job, Job.job_id == JobInstance.job_id)
                .where(
                    Invocation.wf_id.in_(wf_ids),
                    Invocation.abs_task_id.is_not(None),
                    Job.type_desc.notin_(SUBWF_TYPES),
                )
                .distinct()
                .subquery()
            )
        )
    )
    retries = all_inv - distinct_all
    return CountRow(
        succeeded=succeeded,
        failed=failed,
        incomplete=total - succeeded - failed,
        total=total,
        retries=retries,
        total_retries=succeeded + failed + retries,
    )


def workflow_wall_time(session: Session, wf_id: int) -> float | None:
    """`get_workflow_wall_time`: Σ TERMINATED − Σ STARTED when both counts match (restarts)."""
    row = session.execute(
        select(
            func.sum(case((WorkflowState.state == "WORKFLOW_STARTED", 1), else_=0)),
            func.sum(case((WorkflowState.state == "WORKFLOW_TERMINATED", 1), else_=0)),
            func.sum(
                case(
                    (WorkflowState.state == "WORKFLOW_STARTED", WorkflowState.timestamp),
                    else_=0.0,
                )
            ),
            func.sum(
                case(
                    (WorkflowState.state == "WORKFLOW_TERMINATED", WorkflowState.timestamp),
                    else_=0.0,
                )
            ),
        ).where(WorkflowState.wf_id == wf_id)
    ).one()
    started, ended = _int(row[0]), _int(row[1])
    if started > 0 and ended > 0 and started == ended:
        return float(row[3]) - float(row[2])
    return None


def cum_job_wall_time(
    session: Session, wf_ids: Sequence[int]
) -> tuple[float | None, float | None, float | None]:
    """`get_workflow_cum_job_wall_time`: Σ remote_duration × multiplier (all, good, bad)."""
    weighted = Invocation.remote_duration * JobInstance.multiplier_factor
    row = session.execute(
        select(
            func.sum(weighted),
            # else 0 (stampede_statistics): no failed task prints "0.0 secs", not "-"
            func.sum(case((Invocation.exitcode == 0, weighted), else_=0)),
            func.sum(case((Invocation.exitcode > 0, weighted), else_=0)),
        )
        .join(JobInstance, JobInstance.job_instance_id == Invocation.job_instance_id)
        .where(
            Invocation.wf_id.in_(wf_ids),
            Invocation.task_submit_seq >= 0,
            or_(
                Invocation.transformation.is_(None),
                Invocation.transformation != "condor::dagman",
            ),
        )
    ).one()
    return _float(row[0]), _float(row[1]), _float(row[2])


def submit_side_wall_time(
    session: Session, wf_ids: Sequence[int]
) -> tuple[float | None, float | None, float | None]:
    """`get_submit_side_job_wall_time`: Σ local_duration × multiplier (all, good, bad)."""
    weighted = JobInstance.local_duration * JobInstance.multiplier_factor
    row = session.execute(
        select(
            func.sum(weighted),
            func.sum(case((JobInstance.exitcode == 0, weighted), else_=0)),
            func.sum(case((JobInstance.exitcode > 0, weighted), else_=0)),
        )
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(
            Job.wf_id.in_(wf_ids),
            ~and_(Job.type_desc.in_(SUBWF_TYPES), JobInstance.subwf_id.is_not(None)),
        )
    ).one()
    return _float(row[0]), _float(row[1]), _float(row[2])


def integrity_metrics(
    session: Session, wf_ids: Sequence[int], by_file_type: bool = False
) -> list[IntegrityMetric]:
    """`get_summary_integrity_metrics` (by type) or `get_integrity_metrics` (type, file type)."""
    cols: list[Any] = [Integrity.type]
    if by_file_type:
        cols.append(Integrity.file_type)
    rows = session.execute(
        select(*cols, func.sum(Integrity.count), func.sum(Integrity.duration))
        .where(Integrity.wf_id.in_(wf_ids))
        .group_by(*cols)
        .order_by(*cols)
    ).all()
    out = []
    for r in rows:
        if by_file_type:
            out.append(IntegrityMetric(r[0], r[1], _int(r[2]), float(r[3] or 0.0)))
        else:
            out.append(IntegrityMetric(r[0], None, _int(r[1]), float(r[2] or 0.0)))
    return out


def summary(session: Session, wf_id: int) -> Summary:
    """Everything `summary.txt` shows, for a workflow and its sub-workflows."""
    workflow_info(session, wf_id)
    wf_ids = _scope(session, wf_id, expand=True)
    kick = cum_job_wall_time(session, wf_ids)
    side = submit_side_wall_time(session, wf_ids)
    integ = integrity_metrics(session, wf_ids)
    errors = None
    failed_with_errors = 0
    if integ:
        # None without any int.error tag: pegasus-statistics then prints no "Total:" line
        tagged = session.scalar(
            select(func.sum(Tag.count)).where(Tag.wf_id.in_(wf_ids), Tag.name == "int.error")
        )
        errors = None if tagged is None else _int(tagged)
        last = _last_instances(wf_ids)
        failed_with_errors = _int(
            session.scalar(
                select(func.count(distinct(Job.job_id)))
                .select_from(Job)
                .join(last, last.c.job_id == Job.job_id)
                .join(
                    JobInstance,
                    and_(
                        JobInstance.job_id == Job.job_id,
                        JobInstance.job_submit_seq == last.c.seq,
                    ),
                )
                .join(Tag, Tag.job_instance_id == JobInstance.job_instance_id)
                .where(
                    Job.wf_id.in_(wf_ids),
                    Job.type_desc.notin_(SUBWF_TYPES),
                    JobInstance.exitcode != 0,
                    Tag.name == "int.error",
                    Tag.count > 0,
                )
            )
        )
    return Summary(
        tasks=task_counts(session, wf_ids),
        jobs=job_counts(session, wf_ids, "nonsub"),
        sub_workflows=job_counts(session, wf_ids, "subwf"),
        workflow_wall_time=workflow_wall_time(session, wf_id),
        cum_job_wall_time=kick[0],
        cum_job_goodput=kick[1],
        cum_job_badput=kick[2],
        submit_side_wall_time=side[0],
        submit_side_goodput=side[1],
        submit_side_badput=side[2],
        integrity=integ,
        integrity_errors=errors,
        failed_jobs_with_integrity_errors=failed_with_errors,
    )


def workflow_retries(session: Session, wf_ids: Sequence[int]) -> int:
    """`get_workflow_retries`: Σ over workflows of max(restart_count)."""
    inner = (
        select(func.max(WorkflowState.restart_count).label("r"))
        .where(WorkflowState.wf_id.in_(wf_ids))
        .group_by(WorkflowState.wf_id)
        .subquery()
    )
    return _int(session.scalar(select(func.sum(inner.c.r))))


# ---- jobs.txt ---------------------------------------------------------------------------------
def _raw_to_regular(raw: int | None) -> int | None:
    """Kickstart raw status to an exit code: negative -> -128, signal -> -sig, else raw >> 8."""
    if raw is None:
        return None
    if raw < 0:
        return -128
    if raw & 127:
        return -(raw & 127)
    return raw >> 8


def job_statistics(session: Session, wf_id: int) -> list[JobRow]:
    """`get_job_statistics`: one row per job instance of one workflow, by job_submit_seq."""
    js = aliased(JobState)

    def at(*states: str, agg: Any = func.max) -> Any:
        cond = js.state.in_(states) if len(states) > 1 else js.state == states[0]
        return agg(case((cond, js.timestamp), else_=None))

    states = (
        select(
            js.job_instance_id.label("iid"),
            at("SUBMIT", agg=func.min).label("submit"),
            at("EXECUTE", agg=func.min).label("execute"),
            at("GRID_SUBMIT", "GLOBUS_SUBMIT", agg=func.min).label("grid"),
            at("GRID_SUBMIT", "GLOBUS_SUBMIT", "EXECUTE", agg=func.min).label("first_run"),
            at("JOB_TERMINATED").label("terminated"),
            at("POST_SCRIPT_STARTED").label("post_start"),
            at("POST_SCRIPT_TERMINATED").label("post_end"),
        )
        .join(JobInstance, JobInstance.job_instance_id == js.job_instance_id)
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id == wf_id)
        .group_by(js.job_instance_id)
        .subquery()
    )
    inv = (
        select(
            Invocation.job_instance_id.label("iid"),
            func.sum(
                case((Invocation.task_submit_seq >= 0, Invocation.remote_duration), else_=None)
            ).label("kick"),
            func.sum(
                case((Invocation.task_submit_seq >= 0, Invocation.remote_cpu_time), else_=None)
            ).label("cpu"),
            func.max(
                case((Invocation.task_submit_seq >= -1, Invocation.exitcode), else_=None)
            ).label("exitcode"),
        )
        .where(Invocation.wf_id == wf_id)
        .group_by(Invocation.job_instance_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Job.exec_job_id,
            JobInstance.site,
            inv.c.kick,
            JobInstance.multiplier_factor,
            inv.c.cpu,
            states.c.post_start,
            states.c.terminated,
            states.c.post_end,
            states.c.submit,
            states.c.first_run,
            states.c.grid,
            states.c.execute,
            JobInstance.local_duration,
            JobInstance.cluster_duration,
            inv.c.exitcode,
            Host.hostname,
        )
        .select_from(JobInstance)
        .join(Job, Job.job_id == JobInstance.job_id)
        .outerjoin(states, states.c.iid == JobInstance.job_instance_id)
        .outerjoin(inv, inv.c.iid == JobInstance.job_instance_id)
        .outerjoin(Host, Host.host_id == JobInstance.host_id)
        .where(Job.wf_id == wf_id)
        .order_by(JobInstance.job_submit_seq, JobInstance.job_instance_id)
    ).all()
    tries: dict[str, int] = {}
    out = []
    for r in rows:
        (name, site, kick, mult, cpu, post_start, terminated, post_end, submit, first_run) = r[:10]
        grid, execute, runtime, seqexec, exitcode, hostname = r[10:]
        tries[name] = tries.get(name, 0) + 1
        post = None
        if post_end is not None:
            starts = [t for t in (post_start, terminated) if t is not None]
            if starts:
                post = float(post_end) - float(max(starts))
        kick_f = _float(kick)
        mult_i = int(mult or 1)
        seq_f = _float(seqexec)
        out.append(
            JobRow(
                job=name,
                try_=tries[name],
                site=site,
                kickstart=kick_f,
                multiplier=mult_i,
                kickstart_mult=None if kick_f is None else kick_f * mult_i,
                cpu_time=_float(cpu),
                post=post,
                condor_q_time=(
                    float(first_run) - float(submit)
                    if first_run is not None and submit is not None
                    else None
                ),
                resource=(
                    float(execute) - float(grid)
                    if execute is not None and grid is not None
                    else None
                ),
                runtime=_float(runtime),
                seqexec=seq_f,
                seqexec_delay=(
                    seq_f - kick_f if seq_f is not None and kick_f is not None else None
                ),
                exitcode=_raw_to_regular(None if exitcode is None else int(exitcode)),
                hostname=hostname,
            )
        )
    return out


# ---- breakdown.txt ----------------------------------------------------------------------------
def transformation_statistics(session: Session, wf_ids: Sequence[int]) -> list[TransformationRow]:
    """`get_transformation_statistics`: invocations grouped by transformation and outcome."""
    runtime = Invocation.remote_duration * JobInstance.multiplier_factor
    kind = case((Invocation.exitcode == 0, "successful"), else_="failed")
    rows = session.execute(
        select(
            Invocation.transformation,
            kind.label("kind"),
            func.count(Invocation.invocation_id),
            func.min(runtime),
            func.max(runtime),
            func.avg(runtime),
            func.sum(runtime),
            func.min(Invocation.maxrss),
            func.max(Invocation.maxrss),
            func.avg(Invocation.maxrss),
            func.min(Invocation.avg_cpu),
            func.max(Invocation.avg_cpu),
            func.avg(Invocation.avg_cpu),
        )
        .join(JobInstance, JobInstance.job_instance_id == Invocation.job_instance_id)
        .where(Invocation.wf_id.in_(wf_ids))
        .group_by(Invocation.transformation, kind)
        .order_by(Invocation.transformation, kind)
    ).all()
    return [
        TransformationRow(
            transformation=r[0] or "",
            type=r[1],
            count=_int(r[2]),
            min=_float(r[3]),
            max=_float(r[4]),
            mean=_float(r[5]),
            total=_float(r[6]),
            min_maxrss=_float(r[7]),
            max_maxrss=_float(r[8]),
            mean_maxrss=_float(r[9]),
            min_avg_cpu=_float(r[10]),
            max_avg_cpu=_float(r[11]),
            mean_avg_cpu=_float(r[12]),
        )
        for r in rows
    ]


# ---- by host ----------------------------------------------------------------------------------
def host_statistics(session: Session, wf_ids: Sequence[int]) -> list[HostRow]:
    """Per host: job instances and their submit-side runtime, invocations and their runtime."""
    jobs = (
        select(
            JobInstance.host_id.label("host_id"),
            func.count(JobInstance.job_instance_id).label("n"),
            func.sum(JobInstance.local_duration).label("rt"),
        )
        .join(Job, Job.job_id == JobInstance.job_id)
        .where(Job.wf_id.in_(wf_ids), JobInstance.host_id.is_not(None))
        .group_by(JobInstance.host_id)
        .subquery()
    )
    invs = (
        select(
            JobInstance.host_id.label("host_id"),
            func.count(Invocation.invocation_id).label("n"),
            func.sum(Invocation.remote_duration).label("rt"),
        )
        .join(JobInstance, JobInstance.job_instance_id == Invocation.job_instance_id)
        .where(
            Invocation.wf_id.in_(wf_ids),
            Invocation.task_submit_seq >= 0,
            JobInstance.host_id.is_not(None),
        )
        .group_by(JobInstance.host_id)
        .subquery()
    )
    rows = session.execute(
        select(Host.hostname, Host.site, jobs.c.n, jobs.c.rt, invs.c.n, invs.c.rt)
        .join(jobs, jobs.c.host_id == Host.host_id)
        .outerjoin(invs, invs.c.host_id == Host.host_id)
        .where(Host.wf_id.in_(wf_ids))
        .order_by(Host.hostname, Host.site)
    ).all()
    return [
        HostRow(r[0], r[1] or None, _int(r[2]), _float(r[3]), _int(r[4]), _float(r[5]))
        for r in rows
    ]


# ---- time.txt ---------------------------------------------------------------------------------
def _hour(session: Session, column: Any) -> Any:
    """floor(epoch / 3600) on both backends (SQLite's CAST truncates, which is floor here)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(column / 3600), Integer)
    return cast(column / 3600, Integer)


def time_series(session: Session, wf_ids: Sequence[int]) -> TimeSeries:
    """`get_jobs_run_by_time`, `get_invocation_by_time` and their per-host forms (hourly)."""
    nonsub = Job.type_desc.notin_(SUBWF_TYPES)
    not_dagman = or_(
        Invocation.transformation.is_(None), Invocation.transformation != "condor::dagman"
    )

    def jobs_q(per_host: bool) -> Select[Any]:
        hour = _hour(session, JobState.timestamp).label("hour")
        cols: list[Any] = [
            hour,
            func.count(JobInstance.job_instance_id),
            func.sum(JobInstance.local_duration),
        ]
        q = (
            select(*cols, *([Host.hostname] if per_host else []))
            .select_from(JobInstance)
            .join(Job, Job.job_id == JobInstance.job_id)
            .join(JobState, JobState.job_instance_id == JobInstance.job_instance_id)
            .where(Job.wf_id.in_(wf_ids), nonsub, JobState.state == "EXECUTE")
        )
        if per_host:
            q = q.join(Host, Host.host_id == JobInstance.host_id).group_by(hour, Host.hostname)
            return q.order_by(hour, Host.hostname)
        return q.group_by(hour).order_by(hour)

    def inv_q(per_host: bool) -> Select[Any]:
        hour = _hour(session, Invocation.start_time).label("hour")
        q = (
            select(
                hour,
                func.count(Invocation.invocation_id),
                func.sum(Invocation.remote_duration),
                *([Host.hostname] if per_host else []),
            )
            .select_from(Invocation)
            .join(JobInstance, JobInstance.job_instance_id == Invocation.job_instance_id)
            .join(Job, Job.job_id == JobInstance.job_id)
            .where(
                # get_invocation_by_time filters transformations only, not job types: the
                # PRE-script invocations of sub-workflow jobs are counted
                Invocation.wf_id.in_(wf_ids),
                not_dagman,
                Invocation.start_time.is_not(None),
            )
        )
        if per_host:
            q = q.join(Host, Host.host_id == JobInstance.host_id).group_by(hour, Host.hostname)
            return q.order_by(hour, Host.hostname)
        return q.group_by(hour).order_by(hour)

    def buckets(q: Select[Any], per_host: bool) -> list[TimeBucket]:
        return [
            TimeBucket(
                hour=int(r[0]),
                count=_int(r[1]),
                runtime=float(r[2] or 0.0),
                host=r[3] if per_host else None,
            )
            for r in session.execute(q)
        ]

    return TimeSeries(
        jobs=buckets(jobs_q(False), False),
        invocations=buckets(inv_q(False), False),
        jobs_per_host=buckets(jobs_q(True), True),
        invocations_per_host=buckets(inv_q(True), True),
    )


def root_workflow_for_run(session: Session, run_id: str) -> int:
    """The root workflow of a gateway run (the API and CLI resolve runs through this)."""
    wf_id = session.scalar(
        select(Workflow.wf_id)
        .where(Workflow.run_id == run_id, Workflow.parent_wf_id.is_(None))
        .order_by(Workflow.wf_id)
    )
    if wf_id is None:
        raise StatisticsError(f"run {run_id} has no provenance yet (has the monitor run?)")
    return int(wf_id)


def workflow_by_uuid(session: Session, wf_uuid: str) -> int:
    wf_id = session.scalar(select(Workflow.wf_id).where(Workflow.wf_uuid == wf_uuid))
    if wf_id is None:
        raise StatisticsError(f"workflow {wf_uuid} not found")
    return int(wf_id)


__all__ = [
    "CountRow",
    "HostRow",
    "IntegrityMetric",
    "JobRow",
    "StatisticsError",
    "Summary",
    "TimeBucket",
    "TimeSeries",
    "TransformationRow",
    "WorkflowInfo",
    "cum_job_wall_time",
    "descendants",
    "host_statistics",
    "integrity_metrics",
    "job_counts",
    "job_statistics",
    "root_workflow_for_run",
    "submit_side_wall_time",
    "summary",
    "task_counts",
    "time_series",
    "transformation_statistics",
    "workflow_by_uuid",
    "workflow_info",
    "workflow_retries",
    "workflow_wall_time",
]
