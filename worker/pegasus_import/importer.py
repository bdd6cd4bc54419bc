"""Write a rebuilt Pegasus workflow tree into Aerie's provenance tables as one imported run.

Idempotent by the root workflow's `wf_uuid`: importing the same submit directory again (or a
copy of it) finds the existing rows and changes nothing. The run row is an ordinary `runs`
row with `engine = "pegasus-import"` and `labels.imported = "true"`, so the dashboard, status,
analyzer and statistics show it like a native run, marked as imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gateway.db.models.provenance import (
    DagStatus,
    Host,
    Integrity,
    Invocation,
    Job,
    JobEdge,
    JobInstance,
    JobState,
    Tag,
    Task,
    TaskEdge,
    Workflow,
    WorkflowMeta,
    WorkflowState,
)
from gateway.db.models.run import Run
from gateway.db.models.user import User
from gateway.db.states import RunState, transition
from gateway.errors import Conflict, NotFound
from worker.pegasus_import.braindump import find_braindump, read_braindump
from worker.pegasus_import.dagman_out import read_progress
from worker.pegasus_import.errors import SubmitDirError
from worker.pegasus_import.model import JobInstanceRecord, WorkflowRecord
from worker.pegasus_import.rebuild import rebuild_workflow

ENGINE = "pegasus-import"


@dataclass
class ImportResult:
    run_id: str
    wf_uuid: str
    created: bool  # False when the workflow had been imported before (nothing changed)
    workflows: int = 0
    jobs: int = 0
    job_instances: int = 0
    invocations: int = 0
    warnings: list[str] = field(default_factory=list)


def _owner(session: Session, owner: User | str) -> User:
    if isinstance(owner, User):
        return owner
    user = session.scalars(select(User).where(User.name == owner)).first()
    if user is None:
        raise NotFound(f"no user named {owner!r}: create it first (aerie users create)")
    return user


def import_submit_dir(session: Session, path: Path | str, owner: User | str) -> ImportResult:
    """Import the Pegasus submit directory at `path` for `owner`; the caller commits."""
    user = _owner(session, owner)
    # idempotency first: the braindump names the workflow, no need to read the whole tree
    braindump = read_braindump(find_braindump(Path(path).resolve()))
    if "aerie" in braindump.extra:
        raise SubmitDirError(
            braindump.path, "an Aerie submit directory: its run is monitored, not imported"
        )
    wf_uuid = braindump.wf_uuid
    existing = session.scalars(select(Workflow).where(Workflow.wf_uuid == wf_uuid)).first()
    if existing is not None:
        run = session.get(Run, existing.run_id) if existing.run_id else None
        if not existing.imported or run is None or run.owner_id != user.id:
            raise Conflict(f"workflow {wf_uuid} already exists in Aerie and is not yours")
        return ImportResult(run.id, wf_uuid, created=False)
    tree = rebuild_workflow(Path(path))

    run = Run(
        owner_id=user.id,
        name=tree.dax_label or tree.dag_file_name,
        engine=ENGINE,
        submit_dir=str(tree.directory),
        labels={"imported": "true", "source": "pegasus", "wf_uuid": tree.wf_uuid},
    )
    session.add(run)
    session.flush()
    _set_run_state(run, tree)

    result = ImportResult(run.id, tree.wf_uuid, created=True)
    ids: dict[str, int] = {}
    links: list[tuple[JobInstance, str]] = []
    for record in tree.walk():
        _write_workflow(session, record, run, ids, result, links)
        result.warnings.extend(f"{record.directory}: {w}" for w in record.warnings)
    # a sub-workflow's rows exist only after its parent's: link the node instances now
    for row, uuid in links:
        row.subwf_id = ids.get(uuid)
    session.flush()
    return result


def _set_run_state(run: Run, tree: WorkflowRecord) -> None:
    """Walk the run through the ordinary life cycle to the state Pegasus's run ended in."""
    run.state = RunState.QUEUED
    transition(run, RunState.PLANNING)
    transition(run, RunState.RUNNING)
    status = tree.end_status
    if status is not None:
        if status == 0:
            transition(run, RunState.SUCCEEDED)
        else:
            transition(run, RunState.FAILED, error=f"DAGMan exited with status {status}")
    starts = [s.timestamp for s in tree.states if s.state == "WORKFLOW_STARTED"]
    ends = [s.timestamp for s in tree.states if s.state == "WORKFLOW_TERMINATED"]
    run.started_at = datetime.fromtimestamp(min(starts), UTC) if starts else None
    run.finished_at = (
        datetime.fromtimestamp(max(ends), UTC) if ends and status is not None else None
    )
    if tree.timestamp is not None:
        run.created_at = datetime.fromtimestamp(tree.timestamp, UTC)


def _write_workflow(
    session: Session,
    record: WorkflowRecord,
    run: Run,
    ids: dict[str, int],
    result: ImportResult,
    links: list[tuple[JobInstance, str]],
) -> None:
    parent_id = ids.get(record.parent_wf_uuid) if record.parent_wf_uuid else None
    wf = Workflow(
        wf_uuid=record.wf_uuid,
        run_id=run.id if record.parent_wf_uuid is None else None,
        source="pegasus",
        imported=True,
        dag_file_name=record.dag_file_name,
        timestamp=record.timestamp,
        submit_hostname=record.submit_hostname,
        submit_dir=record.submit_dir,
        planner_arguments=record.planner_arguments,
        user=record.user,
        grid_dn=record.grid_dn,
        planner_version=record.planner_version,
        dax_label=record.dax_label,
        dax_version=record.dax_version,
        dax_file=record.dax_file,
        parent_wf_id=parent_id,
    )
    session.add(wf)
    session.flush()
    wf.root_wf_id = ids.get(record.root_wf_uuid, wf.wf_id)
    ids[record.wf_uuid] = wf.wf_id
    result.workflows += 1

    for wf_state in record.states:
        session.add(
            WorkflowState(
                wf_id=wf.wf_id,
                state=wf_state.state,
                timestamp=float(wf_state.timestamp),
                restart_count=wf_state.restart_count,
                status=wf_state.status,
                reason=wf_state.reason,
            )  # fmt: skip
        )
    for meta_key, value in record.meta.items():
        session.add(WorkflowMeta(wf_id=wf.wf_id, key=meta_key, value=value))
    # One flush per table: the ids come back in batches (INSERT … RETURNING), not row by row.
    host_rows = {
        key: Host(wf_id=wf.wf_id, site=key.site, hostname=key.hostname, ip=key.ip,
                  uname=host.uname, total_memory=host.total_memory)
        for key, host in record.hosts.items()
    }  # fmt: skip
    session.add_all(host_rows.values())

    job_rows: dict[str, Job] = {}
    dag = _dag_nodes(record)
    for job in record.jobs:
        node = dag.get(job.exec_job_id)
        job_rows[job.exec_job_id] = Job(
            wf_id=wf.wf_id, exec_job_id=job.exec_job_id, submit_file=job.submit_file,
            type_desc=job.type_desc, clustered=job.clustered, max_retries=job.max_retries or 0,
            executable=job.executable, argv=job.argv, task_count=job.task_count,
            pre_script=node[0] if node else None, post_script=node[1] if node else None,
        )  # fmt: skip
        result.jobs += 1
    session.add_all(job_rows.values())
    session.flush()
    host_ids = {key: row.host_id for key, row in host_rows.items()}
    job_ids = {name: row.job_id for name, row in job_rows.items()}
    for parent, child in dict.fromkeys(record.edges):
        session.add(JobEdge(wf_id=wf.wf_id, parent_exec_job_id=parent, child_exec_job_id=child))
    seen_tasks: set[str] = set()
    for task in record.tasks:
        if task.abs_task_id in seen_tasks:
            continue
        seen_tasks.add(task.abs_task_id)
        session.add(
            Task(
                wf_id=wf.wf_id,
                job_id=job_ids.get(task.exec_job_id or ""),
                abs_task_id=task.abs_task_id,
                transformation=task.transformation,
                argv=task.argv,
                type_desc=task.type_desc or "compute",
            )  # fmt: skip
        )
    for parent, child in dict.fromkeys(record.task_edges):
        session.add(TaskEdge(wf_id=wf.wf_id, parent_abs_task_id=parent, child_abs_task_id=child))
    session.flush()

    instance_rows: list[tuple[JobInstance, JobInstanceRecord]] = []
    for job in record.jobs:
        for inst in job.instances:
            row = JobInstance(
                job_id=job_ids[job.exec_job_id],
                host_id=host_ids.get(inst.host) if inst.host else None,
                job_submit_seq=inst.job_submit_seq, sched_id=inst.sched_id, site=inst.site,
                user=inst.user, work_dir=inst.work_dir, cluster_start=inst.cluster_start,
                cluster_duration=inst.cluster_duration, local_duration=inst.local_duration,
                stdout_file=inst.stdout_file, stdout_text=inst.stdout_text,
                stderr_file=inst.stderr_file, stderr_text=inst.stderr_text,
                stdin_file=inst.stdin_file, multiplier_factor=inst.multiplier_factor,
                exitcode=inst.exitcode,
            )  # fmt: skip
            instance_rows.append((row, inst))
            result.job_instances += 1
            if inst.subwf_uuid:
                links.append((row, inst.subwf_uuid))
    session.add_all(row for row, _ in instance_rows)
    session.flush()
    # Leaf rows need no ids back: plain multi-row INSERTs, not one ORM object each.
    states: list[dict[str, object]] = []
    invocations: list[dict[str, object]] = []
    integrity: list[dict[str, object]] = []
    tags: list[dict[str, object]] = []
    for row, inst in instance_rows:
        seen: set[tuple[str, float, int]] = set()
        for state in inst.states:
            key = (state.state, float(state.timestamp), state.seq)
            if key in seen:  # stampede's key: (instance, state, timestamp, seq)
                continue
            seen.add(key)
            states.append(
                {"job_instance_id": row.job_instance_id, "jobstate_submit_seq": state.seq,
                 "state": state.state, "timestamp": float(state.timestamp),
                 "reason": state.reason}
            )  # fmt: skip
        for inv in inst.invocations:
            invocations.append(
                {"wf_id": wf.wf_id, "job_instance_id": row.job_instance_id,
                 "task_submit_seq": inv.task_submit_seq, "start_time": inv.start_time,
                 "remote_duration": inv.remote_duration, "remote_cpu_time": inv.remote_cpu_time,
                 "exitcode": inv.exitcode, "transformation": inv.transformation,
                 "executable": inv.executable, "argv": inv.argv, "abs_task_id": inv.abs_task_id,
                 "maxrss": inv.maxrss, "avg_cpu": inv.avg_cpu, "failed_step": None}
            )  # fmt: skip
        for metric in inst.integrity:
            integrity.append(
                {"wf_id": wf.wf_id, "job_instance_id": row.job_instance_id, "type": metric.type,
                 "file_type": metric.file_type, "count": metric.count,
                 "duration": metric.duration}
            )  # fmt: skip
        for name, count in inst.tags.items():
            tags.append({"wf_id": wf.wf_id, "job_instance_id": row.job_instance_id,
                         "name": name, "count": count})  # fmt: skip
    for model, rows in ((JobState, states), (Invocation, invocations), (Integrity, integrity),
                        (Tag, tags)):  # fmt: skip
        if rows:
            session.execute(insert(model), rows)
    result.invocations += len(invocations)
    dagman_out = record.directory / f"{record.dag_file_name}.dagman.out"
    if dagman_out.is_file():
        progress = read_progress(dagman_out)
        session.add(
            DagStatus(
                wf_id=wf.wf_id,
                dag_status=progress.dag_status,
                nodes_total=progress.total,
                done=progress.succeeded,
                pre=progress.pre,
                queued=progress.queued,
                post=progress.post,
                ready=progress.ready,
                unready=progress.unready,
                failed=progress.failed,
                exit_status=progress.exit_status,
            )  # fmt: skip
        )


def _dag_nodes(record: WorkflowRecord) -> dict[str, tuple[str | None, str | None]]:
    """PRE/POST commands per node, re-read from the DAG for the analyzer's job details."""
    from worker.pegasus_import.dagfile import read_dag

    dag = read_dag(record.directory / record.dag_file_name)
    out: dict[str, tuple[str | None, str | None]] = {}
    for name, node in dag.nodes.items():
        pre = f"{node.pre.executable} {node.pre.arguments.lstrip()}" if node.pre else None
        post = f"{node.post.executable} {node.post.arguments.lstrip()}" if node.post else None
        out[name] = (pre and pre.rstrip(), post and post.rstrip())
    return out
