"""The provenance of one imported workflow tree, shaped like the stampede tables.

`rebuild` fills these from files; `importer` copies them into the database. Keeping the
middle step free of SQL lets tests compare it field by field with Pegasus's own stampede.db.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class HostKey:
    site: str
    hostname: str
    ip: str


@dataclass
class HostRecord:
    key: HostKey
    uname: str | None = None
    total_memory: int | None = None


@dataclass
class JobStateRecord:
    state: str
    timestamp: int
    seq: int
    reason: str | None = None


@dataclass
class InvocationRecord:
    task_submit_seq: int  # 1..n kickstart tasks, -1 PRE script, -2 POST script
    start_time: float | None
    remote_duration: float | None
    remote_cpu_time: float | None
    exitcode: int | None
    transformation: str | None
    executable: str | None
    argv: str | None
    abs_task_id: str | None
    maxrss: int | None = None
    avg_cpu: float | None = None


@dataclass
class IntegrityRecord:
    type: str  # check | compute
    file_type: str  # input | output
    count: int
    duration: float


@dataclass
class JobInstanceRecord:
    job_submit_seq: int
    sched_id: str | None = None
    site: str | None = None
    user: str | None = None
    work_dir: str | None = None
    cluster_start: float | None = None
    cluster_duration: float | None = None
    local_duration: float | None = None
    subwf_uuid: str | None = None
    stdout_file: str | None = None
    stdout_text: str | None = None
    stderr_file: str | None = None
    stderr_text: str | None = None
    stdin_file: str | None = None
    multiplier_factor: int = 1
    exitcode: int | None = None
    host: HostKey | None = None
    states: list[JobStateRecord] = field(default_factory=list)
    invocations: list[InvocationRecord] = field(default_factory=list)
    integrity: list[IntegrityRecord] = field(default_factory=list)
    tags: dict[str, int] = field(default_factory=dict)


@dataclass
class JobRecord:
    exec_job_id: str
    submit_file: str | None
    type_desc: str
    clustered: bool = False
    max_retries: int | None = None
    executable: str | None = None
    argv: str | None = None
    task_count: int = 0
    instances: list[JobInstanceRecord] = field(default_factory=list)


@dataclass
class TaskRecord:
    abs_task_id: str
    exec_job_id: str | None
    transformation: str | None
    argv: str | None
    type_desc: str | None


@dataclass
class WorkflowStateRecord:
    state: str  # WORKFLOW_STARTED | WORKFLOW_TERMINATED
    timestamp: int
    restart_count: int
    status: int | None = None
    reason: str | None = None


@dataclass
class WorkflowRecord:
    """One workflow of the tree; `children` are its sub-workflows (planned dirs that exist)."""

    directory: Path
    wf_uuid: str
    root_wf_uuid: str
    parent_wf_uuid: str | None
    dag_file_name: str
    timestamp: float | None
    submit_hostname: str | None
    submit_dir: str | None
    planner_arguments: str | None
    user: str | None
    grid_dn: str | None
    planner_version: str | None
    dax_label: str | None
    dax_version: str | None
    dax_file: str | None
    states: list[WorkflowStateRecord] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    jobs: list[JobRecord] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    tasks: list[TaskRecord] = field(default_factory=list)
    task_edges: list[tuple[str, str]] = field(default_factory=list)
    hosts: dict[HostKey, HostRecord] = field(default_factory=dict)
    children: list[WorkflowRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def walk(self) -> list[WorkflowRecord]:
        """This workflow and every descendant, parents before children."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    @property
    def end_status(self) -> int | None:
        """The DAGMan exit status of the last run, None while (or if it looks) running."""
        if self.states and self.states[-1].state == "WORKFLOW_TERMINATED":
            return self.states[-1].status
        return None
