"""Provenance tables: Pegasus's stampede schema (SPEC.md §4.1), kept close to 1:1.

Why stampede: pegasus-statistics, -status and -analyzer are defined as queries over these
tables, so keeping their names and columns lets every figure be the same SQL aggregate, for our
own runs (filled by `worker.monitor`) and for imported Pegasus runs (filled by `aerie import`).

Deviations from stampede, each for a reason:
- timestamps and durations are floats of epoch seconds (stampede: Numeric), so the same
  arithmetic (`ts / 3600`, sums, differences) works unchanged on SQLite and PostgreSQL;
- `workflow` links to the gateway's `runs` row (`run_id`, the owner is reached through it; a
  sub-workflow reaches it through `root_wf_id`) and records where its rows came from (`source`);
- `rc_lfn` is per workflow (`wf_id`), so one person's checksum never describes another's file;
- `workflowstate`, `host` and `tag` keys are chosen so that replaying a log is idempotent;
- `job` keeps the DAG node's PRE/POST script commands (the analyzer shows them);
- `dagstatus` holds the latest node counts (NODE_STATUS_FILE or dagman.out), which is what
  pegasus-status prints;
- `monitor_cursor` remembers how far each file was read, so the monitor tails incrementally.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.base import Base

# Big keys on PostgreSQL, rowid-aliased INTEGER PRIMARY KEY on SQLite (autoincrement works).
BigID = BigInteger().with_variant(Integer(), "sqlite")


def _fk(target: str, ondelete: str = "CASCADE") -> ForeignKey:
    return ForeignKey(target, ondelete=ondelete)


class Workflow(Base):
    """One (sub-)workflow: a planned DAG and its braindump. Stampede `workflow`."""

    __tablename__ = "workflow"

    wf_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_uuid: Mapped[str] = mapped_column(String(64), unique=True)
    run_id: Mapped[str | None] = mapped_column(
        _fk("runs.id"), index=True, doc="Gateway run owning this workflow (root workflows)."
    )
    source: Mapped[str] = mapped_column(String(16), default="native", doc="native | pegasus")
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    dag_file_name: Mapped[str | None] = mapped_column(String(255))
    timestamp: Mapped[float | None] = mapped_column(Float, doc="Planning time, epoch seconds.")
    submit_hostname: Mapped[str | None] = mapped_column(String(255))
    submit_dir: Mapped[str | None] = mapped_column(Text)
    planner_arguments: Mapped[str | None] = mapped_column(Text)
    user: Mapped[str | None] = mapped_column(String(255))
    grid_dn: Mapped[str | None] = mapped_column(String(255))
    planner_version: Mapped[str | None] = mapped_column(String(255))
    dax_label: Mapped[str | None] = mapped_column(String(255))
    dax_version: Mapped[str | None] = mapped_column(String(255))
    dax_file: Mapped[str | None] = mapped_column(Text)
    db_url: Mapped[str | None] = mapped_column(Text)
    parent_wf_id: Mapped[int | None] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    root_wf_id: Mapped[int | None] = mapped_column(
        BigID, index=True, doc="Not a foreign key (stampede); equals wf_id for the root."
    )


class WorkflowState(Base):
    """WORKFLOW_STARTED / WORKFLOW_TERMINATED per DAGMan (re)start. Stampede `workflowstate`."""

    __tablename__ = "workflowstate"
    __table_args__ = (UniqueConstraint("wf_id", "state", "restart_count"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    state: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[float] = mapped_column(Float)
    restart_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[int | None] = mapped_column(Integer, doc="DAGMan exit code; NULL on start.")
    reason: Mapped[str | None] = mapped_column(Text)


class WorkflowMeta(Base):
    """Workflow metadata (`metadata:` of the workflow YAML). Stampede `workflow_meta`."""

    __tablename__ = "workflow_meta"
    __table_args__ = (PrimaryKeyConstraint("wf_id", "key"),)

    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)


class Host(Base):
    """An execution host seen in invocation records. Stampede `host`."""

    __tablename__ = "host"
    __table_args__ = (UniqueConstraint("wf_id", "site", "hostname", "ip"),)

    host_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    site: Mapped[str] = mapped_column(String(255), default="")
    hostname: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    uname: Mapped[str | None] = mapped_column(String(255))
    total_memory: Mapped[int | None] = mapped_column(BigInteger)


class Job(Base):
    """A DAG node. Stampede `job` (+ the node's PRE/POST script commands)."""

    __tablename__ = "job"
    __table_args__ = (UniqueConstraint("wf_id", "exec_job_id"),)

    job_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    exec_job_id: Mapped[str] = mapped_column(String(255), doc="DAG node name.")
    submit_file: Mapped[str | None] = mapped_column(Text)
    type_desc: Mapped[str] = mapped_column(String(32), default="unknown")
    clustered: Mapped[bool] = mapped_column(Boolean, default=False)
    max_retries: Mapped[int] = mapped_column(Integer, default=0)
    executable: Mapped[str | None] = mapped_column(Text)
    argv: Mapped[str | None] = mapped_column(Text)
    task_count: Mapped[int] = mapped_column(Integer, default=0)
    pre_script: Mapped[str | None] = mapped_column(Text)
    post_script: Mapped[str | None] = mapped_column(Text)


class JobEdge(Base):
    """A PARENT/CHILD edge between DAG nodes. Stampede `job_edge`."""

    __tablename__ = "job_edge"
    __table_args__ = (PrimaryKeyConstraint("wf_id", "parent_exec_job_id", "child_exec_job_id"),)

    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"))
    parent_exec_job_id: Mapped[str] = mapped_column(String(255))
    child_exec_job_id: Mapped[str] = mapped_column(String(255))


class JobInstance(Base):
    """One DAGMan attempt of a node (PRE + job + POST). Stampede `job_instance`."""

    __tablename__ = "job_instance"
    __table_args__ = (UniqueConstraint("job_id", "job_submit_seq"),)

    job_instance_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    # no index of its own on job_id: UNIQUE(job_id, job_submit_seq) serves those lookups
    job_id: Mapped[int] = mapped_column(BigID, _fk("job.job_id"))
    host_id: Mapped[int | None] = mapped_column(BigID, _fk("host.host_id", "SET NULL"))
    job_submit_seq: Mapped[int] = mapped_column(Integer)
    sched_id: Mapped[str | None] = mapped_column(String(64), doc="HTCondor id, e.g. '104.0'.")
    site: Mapped[str | None] = mapped_column(String(255))
    user: Mapped[str | None] = mapped_column(String(255))
    work_dir: Mapped[str | None] = mapped_column(Text)
    cluster_start: Mapped[float | None] = mapped_column(Float)
    cluster_duration: Mapped[float | None] = mapped_column(Float)
    local_duration: Mapped[float | None] = mapped_column(Float)
    subwf_id: Mapped[int | None] = mapped_column(BigID, _fk("workflow.wf_id", "SET NULL"))
    stdout_file: Mapped[str | None] = mapped_column(Text)
    stdout_text: Mapped[str | None] = mapped_column(Text)
    stderr_file: Mapped[str | None] = mapped_column(Text)
    stderr_text: Mapped[str | None] = mapped_column(Text)
    stdin_file: Mapped[str | None] = mapped_column(Text)
    multiplier_factor: Mapped[int] = mapped_column(Integer, default=1)
    exitcode: Mapped[int | None] = mapped_column(Integer, doc="Raw wait status; POST's wins.")


class JobState(Base):
    """One state of a job instance (DB spelling, SPEC.md §4.3). Stampede `jobstate`."""

    __tablename__ = "jobstate"
    # Stampede's key: real Pegasus runs repeat a jobstate_submit_seq within an instance.
    __table_args__ = (
        PrimaryKeyConstraint("job_instance_id", "state", "timestamp", "jobstate_submit_seq"),
    )

    job_instance_id: Mapped[int] = mapped_column(BigID, _fk("job_instance.job_instance_id"))
    jobstate_submit_seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[float] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)


class Tag(Base):
    """A counted tag on an instance, e.g. `int.error`. Stampede `tag`."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("wf_id", "job_instance_id", "name"),)

    tag_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    job_instance_id: Mapped[int] = mapped_column(BigID, _fk("job_instance.job_instance_id"))
    name: Mapped[str] = mapped_column(String(255))
    count: Mapped[int] = mapped_column(Integer, default=0)


class Task(Base):
    """A job of the abstract workflow (YAML job id), mapped to the DAG node that runs it."""

    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("wf_id", "abs_task_id"),)

    task_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    job_id: Mapped[int | None] = mapped_column(BigID, _fk("job.job_id", "SET NULL"), index=True)
    abs_task_id: Mapped[str] = mapped_column(String(255))
    transformation: Mapped[str | None] = mapped_column(Text)
    argv: Mapped[str | None] = mapped_column(Text)
    type_desc: Mapped[str] = mapped_column(String(32), default="compute")


class TaskEdge(Base):
    """A dependency of the abstract workflow. Stampede `task_edge`."""

    __tablename__ = "task_edge"
    __table_args__ = (PrimaryKeyConstraint("wf_id", "parent_abs_task_id", "child_abs_task_id"),)

    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"))
    parent_abs_task_id: Mapped[str] = mapped_column(String(255))
    child_abs_task_id: Mapped[str] = mapped_column(String(255))


class TaskMeta(Base):
    """Task metadata. Stampede `task_meta`."""

    __tablename__ = "task_meta"
    __table_args__ = (PrimaryKeyConstraint("task_id", "key"),)

    task_id: Mapped[int] = mapped_column(BigID, _fk("task.task_id"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)


class Invocation(Base):
    """One task execution (from an invocation record) or a PRE/POST script run.

    `task_submit_seq` is 1..n for the wrapper's tasks, -1 for the PRE script (`dagman::pre`)
    and -2 for the POST script (`dagman::post`), as in stampede. `failed_step` is Aerie's:
    which wrapper step failed (stage-in, integrity, exec, stage-out) or NULL.
    """

    __tablename__ = "invocation"
    __table_args__ = (UniqueConstraint("job_instance_id", "task_submit_seq"),)

    invocation_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    # UNIQUE(job_instance_id, task_submit_seq) also serves lookups by instance
    job_instance_id: Mapped[int] = mapped_column(BigID, _fk("job_instance.job_instance_id"))
    task_submit_seq: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[float | None] = mapped_column(Float)
    remote_duration: Mapped[float | None] = mapped_column(Float)
    remote_cpu_time: Mapped[float | None] = mapped_column(Float)
    exitcode: Mapped[int | None] = mapped_column(Integer, doc="Raw wait status.")
    transformation: Mapped[str | None] = mapped_column(Text)
    executable: Mapped[str | None] = mapped_column(Text)
    argv: Mapped[str | None] = mapped_column(Text)
    abs_task_id: Mapped[str | None] = mapped_column(String(255))
    maxrss: Mapped[int | None] = mapped_column(BigInteger, doc="KB.")
    avg_cpu: Mapped[float | None] = mapped_column(Float)
    failed_step: Mapped[str | None] = mapped_column(String(32))


class Integrity(Base):
    """Checksum work of one instance, by kind. Stampede `integrity`."""

    __tablename__ = "integrity"
    __table_args__ = (UniqueConstraint("job_instance_id", "type", "file_type"),)

    integrity_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    job_instance_id: Mapped[int] = mapped_column(BigID, _fk("job_instance.job_instance_id"))
    type: Mapped[str] = mapped_column(String(16), doc="check | compute")
    file_type: Mapped[str] = mapped_column(String(16), doc="input | output")
    count: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float] = mapped_column(Float, default=0.0)


class RCLfn(Base):
    """A logical file name of a workflow. Stampede `rc_lfn` (made per workflow)."""

    __tablename__ = "rc_lfn"
    __table_args__ = (UniqueConstraint("wf_id", "lfn"),)

    lfn_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    lfn: Mapped[str] = mapped_column(String(1024))


class RCPfn(Base):
    """A physical location of a file. Stampede `rc_pfn`."""

    __tablename__ = "rc_pfn"
    __table_args__ = (UniqueConstraint("lfn_id", "pfn", "site"),)

    pfn_id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    lfn_id: Mapped[int] = mapped_column(BigID, _fk("rc_lfn.lfn_id"), index=True)
    pfn: Mapped[str] = mapped_column(Text)
    site: Mapped[str] = mapped_column(String(255), default="")


class RCMeta(Base):
    """File attributes: `checksum.type`, `checksum.value`, `size`, user metadata."""

    __tablename__ = "rc_meta"
    __table_args__ = (PrimaryKeyConstraint("lfn_id", "key"),)

    lfn_id: Mapped[int] = mapped_column(BigID, _fk("rc_lfn.lfn_id"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(Text)


class WorkflowFiles(Base):
    """Which task used or produced which file. Stampede `workflow_files` (+ the instance)."""

    __tablename__ = "workflow_files"
    __table_args__ = (UniqueConstraint("wf_id", "lfn_id", "job_instance_id", "file_type"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), index=True)
    task_id: Mapped[int | None] = mapped_column(BigID, _fk("task.task_id", "SET NULL"))
    job_instance_id: Mapped[int | None] = mapped_column(BigID, _fk("job_instance.job_instance_id"))
    lfn_id: Mapped[int] = mapped_column(BigID, _fk("rc_lfn.lfn_id"))
    file_type: Mapped[str] = mapped_column(String(16), doc="input | output")


class DagStatus(Base):
    """Latest node counts of a workflow's DAG, as DAGMan reports them (pegasus-status)."""

    __tablename__ = "dagstatus"

    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"), primary_key=True)
    timestamp: Mapped[float | None] = mapped_column(Float)
    dag_status: Mapped[int] = mapped_column(Integer, default=0)
    nodes_total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    pre: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    post: Mapped[int] = mapped_column(Integer, default=0)
    ready: Mapped[int] = mapped_column(Integer, default=0)
    unready: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    futile: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    exit_status: Mapped[int | None] = mapped_column(
        Integer, doc="DAGMan's final exit status once it has exited, else NULL."
    )


class MonitorCursor(Base):
    """How far the monitor has read one file of a workflow's submit dir."""

    __tablename__ = "monitor_cursor"
    __table_args__ = (PrimaryKeyConstraint("wf_id", "path"),)

    wf_id: Mapped[int] = mapped_column(BigID, _fk("workflow.wf_id"))
    path: Mapped[str] = mapped_column(String(1024), doc="Relative to the submit dir.")
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mtime: Mapped[float | None] = mapped_column(Float)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="Reader-specific memo.")
