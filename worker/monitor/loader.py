"""The monitor: one pass over a submit dir turns what is new in its logs into provenance rows.

A pass reads each file from the offset stored in `monitor_cursor` to its last complete record,
applies the records in time order to the workflow's job instances, writes all rows with bulk
statements, and moves the cursors, all in the caller's transaction. So a pass is incremental
(only new records are read), idempotent (re-running it finds nothing new and changes nothing)
and atomic (a failed pass leaves rows and cursors as they were, to be retried).

Sources, by what each adds (docs/submit-dir.md):
- `braindump.yml` and the DAG: the `workflow`, `job`, `job_edge` and `task` rows (first pass);
- `<p>.dag.nodes.log`: job instances (one per SUBMIT of a node) and their states, exit codes,
  local durations, hold reasons, POST results;
- `jobstate.log`: DAGMan starts and exits (`workflowstate`), PRE-script states and
  POST_SCRIPT_STARTED, which the event log lacks;
- `<job>.out[.NNN]`/`.err[.NNN]` of each finished attempt: invocations, hosts, files with
  checksums, integrity timings;
- `<p>.dag.status` (or `<p>.dag.dagman.out`): the node counts for `dagstatus`.

SUBDAG nodes are followed into their own submit dirs (child workflows). A log that shrinks is
an error (engines only append; re-reading it would duplicate attempts).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
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
    MonitorCursor,
    RCLfn,
    RCMeta,
    Tag,
    Task,
    TaskMeta,
    Workflow,
    WorkflowFiles,
    WorkflowMeta,
    WorkflowState,
)
from gateway.db.models.run import Run
from worker.monitor import eventlog as ev
from worker.monitor.attempts import Attempt, JobInfo, Tracker
from worker.monitor.braindump import Braindump, read_braindump
from worker.monitor.bulk import (
    dialect_insert,
    insert_returning_ids,
    insert_rows,
    table_of,
)
from worker.monitor.jobstate import JobstateLine, read_jobstate
from worker.monitor.nodestatus import Progress, read_node_status, scan_dagman_out
from worker.monitor.outfiles import read_attempt
from worker.monitor.records import HostKey, attempt_rows
from worker.monitor.static import read_metadata, read_static

log = logging.getLogger(__name__)

STATIC_CURSOR = "<static>"
DAGMAN_OUT_STATE = "dagman.out"


class MonitorError(ValueError):
    """The thing to monitor cannot be found or read."""


@dataclass
class MonitorResult:
    """What one pass added (all zeros when nothing was new)."""

    wf_id: int
    events: int = 0
    job_instances: int = 0
    jobstates: int = 0
    invocations: int = 0
    workflow_states: int = 0


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _Pass(Tracker):
    """One monitor pass over one workflow: the tracker plus reading and writing rows."""

    def __init__(self, session: Session, submit_dir: Path, wf: Workflow) -> None:
        super().__init__()
        self.s = session
        self.dir = submit_dir
        self.wf = wf
        self.wf_id = wf.wf_id
        self.result = MonitorResult(wf_id=wf.wf_id)
        self.cursors: dict[str, MonitorCursor] = {}

    # ---- loading what earlier passes wrote -------------------------------------------------
    def load(self) -> None:
        """The cursors of earlier passes (jobs and restarts come with `load_jobs`, only when a
        pass has records to apply)."""
        for c in self.s.scalars(select(MonitorCursor).where(MonitorCursor.wf_id == self.wf_id)):
            self.cursors[c.path] = c

    def load_jobs(self, sched_ids: set[str], nodes: set[str]) -> None:
        """The jobs this pass's records can reach (named, or owning an instance with a condor
        id they name; the same ones `load_instances` lists), and the restart count."""
        cols = select(
            Job.exec_job_id,
            Job.job_id,
            Job.submit_file,
            Job.post_script,
            Job.pre_script,
            Job.type_desc,
        )
        ji = table_of(JobInstance)
        queries = [
            cols.where(Job.wf_id == self.wf_id, Job.exec_job_id.in_(chunk))
            for chunk in _chunks(sorted(nodes), 500)
        ] + [
            cols.where(
                Job.wf_id == self.wf_id,
                Job.job_id.in_(select(ji.c.job_id).where(ji.c.sched_id.in_(chunk))),
            )
            for chunk in _chunks(sorted(i for i in sched_ids if i), 500)
        ]
        for query in queries:
            for row in self.s.execute(query):
                self.jobs[row[0]] = JobInfo(
                    row[1], row[2], row[3] is not None, row[3], row[4], row[5]
                )
        self.restarts = (
            self.s.scalar(
                select(func.count())
                .select_from(WorkflowState)
                .where(WorkflowState.wf_id == self.wf_id, WorkflowState.state == "WORKFLOW_STARTED")
            )
            or 0
        )

    def load_instances(self, sched_ids: set[str], nodes: set[str]) -> None:
        """The instances earlier passes wrote, as far as this pass's records can touch them.

        Listed are every instance of the nodes the new records name, or of the nodes owning an
        instance whose condor id they name (for attempt numbering and condor-id lookups; the
        instances of other nodes cannot be reached by this pass's records), plus the highest
        submit sequence of the workflow. State details (next jobstate number,
        EXECUTE/TERMINATED/POST times) are aggregated only for the instances the records name.
        So an incremental pass over a big run reads the rows of the jobs that moved, not of
        all jobs (listing all instances was ~30 ms per pass at 1,000 jobs, and grew with them).
        """
        ji = table_of(JobInstance)
        in_wf = select(Job.job_id).where(Job.wf_id == self.wf_id).scalar_subquery()
        top = self.s.scalar(select(func.max(ji.c.job_submit_seq)).where(ji.c.job_id.in_(in_wf)))
        self.next_seq = max(self.next_seq, int(top or 0) + 1)
        if top is None:
            return  # no instance yet
        node_of = {info.job_id: name for name, info in self.jobs.items()}
        job_ids = {self.jobs[n].job_id for n in nodes if n in self.jobs}
        for chunk in _chunks(sorted(i for i in sched_ids if i), 500):
            job_ids.update(
                self.s.scalars(
                    select(ji.c.job_id).where(ji.c.sched_id.in_(chunk), ji.c.job_id.in_(in_wf))
                )
            )
        rows: list[Any] = []
        for chunk in _chunks(sorted(job_ids), 500):
            rows.extend(
                self.s.execute(
                    select(
                        ji.c.job_instance_id,
                        ji.c.job_id,
                        ji.c.job_submit_seq,
                        ji.c.sched_id,
                        ji.c.exitcode,
                        ji.c.local_duration,
                        ji.c.site,
                    ).where(ji.c.job_id.in_(chunk))
                )
            )
        rows.sort(key=lambda r: r[2])
        rows = [(r[0], r[1], node_of[r[1]], *r[2:]) for r in rows]
        by_id: dict[int, Attempt] = {}
        for r in rows:
            node = r[2]
            inst = Attempt(
                id=r[0],
                job_id=r[1],
                node=node,
                seq=r[3],
                try_index=self.tries.get(node, 0),
                sched_id=r[4],
                exitcode=r[5],
                local_duration=r[6],
                site=r[7],
            )
            by_id[r[0]] = inst
            self.tries[node] = inst.try_index + 1
            self.last[node] = inst
            if inst.sched_id:
                self.by_sched[inst.sched_id] = inst
            self.next_seq = max(self.next_seq, inst.seq + 1)
        wanted = {self.by_sched[s].id for s in sched_ids if s in self.by_sched}
        wanted |= {self.last[n].id for n in nodes if n in self.last}
        js = table_of(JobState)

        def at(state: str) -> Any:
            return func.max(case((js.c.state == state, js.c.timestamp), else_=None))

        ids = sorted(i for i in wanted if i is not None)
        for chunk in _chunks(ids, 1000):
            for r in self.s.execute(
                select(
                    js.c.job_instance_id,
                    func.max(js.c.jobstate_submit_seq),
                    at("EXECUTE"),
                    at("JOB_TERMINATED"),
                    at("POST_SCRIPT_STARTED"),
                    at("PRE_SCRIPT_STARTED"),
                    func.max(case((js.c.state == "SUBMIT", 1), else_=0)),
                )
                .where(js.c.job_instance_id.in_(chunk))
                .group_by(js.c.job_instance_id)
            ):
                inst = by_id[r[0]]
                inst.next_state = int(r[1] or 0) + 1
                inst.execute_ts, inst.terminate_ts = r[2], r[3]
                inst.post_start_ts, inst.pre_start_ts = r[4], r[5]
                inst.submitted = bool(r[6])
                inst.pending_pre = inst.pre_start_ts is not None and not inst.submitted

    # ---- writing ---------------------------------------------------------------------------
    def collect_outputs(self) -> None:
        """Read each finished attempt's `.out`/`.err` and resolve its host, before any insert,
        so new instances are written once with everything known about them."""
        if not self.finished:
            return
        hosts: dict[HostKey, int] = {
            (h.site, h.hostname, h.ip): h.host_id
            for h in self.s.scalars(select(Host).where(Host.wf_id == self.wf_id))
        }
        for inst in self.finished:
            info = self.jobs[inst.node]
            out = read_attempt(self.dir, info.submit_file, inst.node, inst.try_index, info.has_post)
            # only compute jobs run workflow tasks (Pegasus: kickstart's derivation is null
            # for auxiliary jobs, so their invocations carry no abs_task_id)
            rows = attempt_rows(out, inst.site, tasks=info.type_desc == "compute")
            inst.out = rows
            inst.site = rows.instance["site"]
            if rows.host is not None:
                if rows.host not in hosts:
                    site, hostname, ip = rows.host
                    stmt = dialect_insert(self.s, Host).values(
                        wf_id=self.wf_id, site=site, hostname=hostname, ip=ip
                    )
                    hosts[rows.host] = self.s.scalars(
                        stmt.on_conflict_do_update(
                            index_elements=["wf_id", "site", "hostname", "ip"], set_={"site": site}
                        ).returning(table_of(Host).c.host_id)
                    ).one()
                inst.host_id = hosts[rows.host]

    def _base(self, inst: Attempt) -> dict[str, Any]:
        return {
            "sched_id": inst.sched_id,
            "site": inst.site,
            "local_duration": inst.local_duration,
            "exitcode": inst.exitcode,
        }

    def _outputs(self, inst: Attempt) -> dict[str, Any]:
        assert inst.out is not None
        return {**inst.out.instance, "site": inst.site, "host_id": inst.host_id}

    def flush_instances(self) -> None:
        """Write new and changed instances, their states and everything their records gave."""
        if self.new:
            rows = []
            for i in self.new:
                row = {
                    "job_id": i.job_id,
                    "job_submit_seq": i.seq,
                    "multiplier_factor": 1,
                    "host_id": None,
                    "stdout_file": None,
                    "stderr_file": None,
                    "stdout_text": None,
                    "stderr_text": None,
                    "work_dir": None,
                    "user": None,
                    "cluster_start": None,
                    "cluster_duration": None,
                    **self._base(i),
                }
                if i.out is not None:
                    row.update(self._outputs(i))
                rows.append(row)
            ids = insert_returning_ids(self.s, JobInstance, "job_instance_id", rows)
            for inst, new_id in zip(self.new, ids, strict=True):
                inst.id = new_id
            self.result.job_instances += len(self.new)
        new_ids = {id(i) for i in self.new}
        changed = [i for i in self.instances if id(i) not in new_ids]
        ji = table_of(JobInstance)
        for group in (
            [i for i in changed if i.out is None],
            [i for i in changed if i.out is not None],
        ):
            if not group:
                continue
            params = [
                {
                    "b_id": i.id,
                    **self._base(i),
                    **(self._outputs(i) if i.out is not None else {}),
                }
                for i in group
            ]
            cols = [k for k in params[0] if k != "b_id"]
            self.s.execute(
                update(ji)
                .where(ji.c.job_instance_id == bindparam("b_id"))
                .values({c: bindparam(c) for c in cols}),
                params,
                execution_options={"synchronize_session": False},
            )
        states: list[dict[str, Any]] = []
        invocations: list[dict[str, Any]] = []
        integrity: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        files: list[tuple[Attempt, str, dict[str, Any], str | None]] = []
        for inst in [*self.new, *changed]:
            for state, ts, reason in inst.states:
                states.append(
                    {
                        "job_instance_id": inst.id,
                        "jobstate_submit_seq": inst.next_state,
                        "state": state,
                        "timestamp": ts,
                        "reason": reason,
                    }
                )
                inst.next_state += 1
            inst.states.clear()
            keys = {"wf_id": self.wf_id, "job_instance_id": inst.id}
            invocations.extend({**keys, **row} for row in inst.scripts)
            inst.scripts.clear()
            if inst.out is not None:
                invocations.extend({**keys, **row} for row in inst.out.invocations)
                integrity.extend({**keys, **row} for row in inst.out.integrity)
                tags.extend({**keys, **row} for row in inst.out.tags)
                files.extend((inst, kind, item, task) for kind, item, task in inst.out.files)
                inst.out = None
        insert_rows(self.s, JobState, states)
        self.result.jobstates += len(states)
        insert_rows(self.s, Invocation, invocations)
        self.result.invocations += len(invocations)
        insert_rows(self.s, Integrity, integrity)
        insert_rows(self.s, Tag, tags)
        if files:
            self._write_files(files)

    def write_workflow_states(self) -> None:
        if not self.wf_states:
            return
        rows = [{**r, "wf_id": self.wf_id} for r in self.wf_states]
        stmt = dialect_insert(self.s, WorkflowState).on_conflict_do_nothing(
            index_elements=["wf_id", "state", "restart_count"]
        )
        self.s.execute(stmt, rows)
        self.result.workflow_states += len(rows)

    def _write_files(self, files: list[tuple[Attempt, str, dict[str, Any], str | None]]) -> None:
        tasks: dict[str, int] = {
            str(a): int(t)
            for a, t in self.s.execute(
                select(Task.abs_task_id, Task.task_id).where(Task.wf_id == self.wf_id)
            )
        }
        lfns = sorted({str(item["lfn"]) for _, _, item, _ in files})
        known: dict[str, int] = {}
        for chunk in _chunks(lfns):
            known.update(
                (str(lfn), int(i))
                for lfn, i in self.s.execute(
                    select(RCLfn.lfn, RCLfn.lfn_id).where(
                        RCLfn.wf_id == self.wf_id, RCLfn.lfn.in_(chunk)
                    )
                )
            )
        missing = [lfn for lfn in lfns if lfn not in known]
        ids = insert_returning_ids(
            self.s, RCLfn, "lfn_id", [{"wf_id": self.wf_id, "lfn": lfn} for lfn in missing]
        )
        known.update(zip(missing, ids, strict=True))
        meta: dict[tuple[int, str], str] = {}
        links: dict[tuple[int, int | None, str], dict[str, Any]] = {}
        for inst, file_type, item, task in files:
            lfn_id = known[str(item["lfn"])]
            if item.get("sha256"):
                meta[(lfn_id, "checksum.type")] = "sha256"
                meta[(lfn_id, "checksum.value")] = str(item["sha256"])
            if item.get("size") is not None:
                meta[(lfn_id, "size")] = str(item["size"])
            links[(lfn_id, inst.id, file_type)] = {
                "wf_id": self.wf_id,
                "task_id": tasks.get(task) if task else None,
                "job_instance_id": inst.id,
                "lfn_id": lfn_id,
                "file_type": file_type,
            }
        if meta:
            stmt = dialect_insert(self.s, RCMeta)
            self.s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["lfn_id", "key"], set_={"value": stmt.excluded.value}
                ),
                [{"lfn_id": k[0], "key": k[1], "value": v} for k, v in meta.items()],
            )
        self.s.execute(
            dialect_insert(self.s, WorkflowFiles).on_conflict_do_nothing(
                index_elements=["wf_id", "lfn_id", "job_instance_id", "file_type"]
            ),
            list(links.values()),
        )

    # ---- cursors ---------------------------------------------------------------------------
    def offset(self, path: str) -> int:
        c = self.cursors.get(path)
        return c.offset if c is not None else 0

    def set_cursor(self, path: str, offset: int, size: int, mtime: float | None) -> None:
        c = self.cursors.get(path)
        if c is None:
            c = MonitorCursor(wf_id=self.wf_id, path=path, offset=offset, size=size, mtime=mtime)
            self.s.add(c)
            self.cursors[path] = c
        elif (c.offset, c.size, c.mtime) != (offset, size, mtime):
            c.offset, c.size, c.mtime = offset, size, mtime


def _find_run_dir(session: Session, target: str | Path) -> tuple[Path, str | None]:
    path = Path(target)
    if path.is_dir():
        run_id = session.scalar(
            select(Run.id).where(Run.submit_dir.in_([str(path), str(path.resolve())]))
        )
        return path.resolve(), run_id
    run = session.get(Run, str(target))
    if run is None:
        raise MonitorError(f"{target}: neither a submit directory nor a run id in the database")
    if not run.submit_dir:
        raise MonitorError(f"run {run.id} has no submit directory yet (state {run.state})")
    submit_dir = Path(run.submit_dir)
    if not submit_dir.is_dir():
        raise MonitorError(f"run {run.id}: submit directory {submit_dir} does not exist")
    return submit_dir.resolve(), run.id


def _ensure_workflow(
    session: Session,
    submit_dir: Path,
    bd: Braindump,
    run_id: str | None,
    parent: Workflow | None = None,
) -> Workflow:
    # FOR UPDATE (PostgreSQL): two passes over one run (the beat and a CLI user) take turns,
    # so the second sees the first one's cursors instead of reading the same records again
    wf = session.scalar(select(Workflow).where(Workflow.wf_uuid == bd.wf_uuid).with_for_update())
    if wf is not None:
        if run_id and wf.run_id is None:
            wf.run_id = run_id
        return wf
    root = parent
    if root is None and bd.root_wf_uuid != bd.wf_uuid:
        root = session.scalar(select(Workflow).where(Workflow.wf_uuid == bd.root_wf_uuid))
    wf = Workflow(
        wf_uuid=bd.wf_uuid,
        run_id=run_id,
        source="native",
        imported=False,
        dag_file_name=bd.dag,
        timestamp=bd.epoch,
        submit_hostname=bd.submit_hostname,
        submit_dir=str(submit_dir),
        planner_arguments=bd.planner_arguments,
        user=bd.user,
        grid_dn=bd.grid_dn,
        planner_version=bd.planner_version,
        dax_label=bd.dax_label,
        dax_version=bd.dax_version,
        dax_file=bd.dax,
        parent_wf_id=root.wf_id if root is not None else None,
        root_wf_id=(root.root_wf_id or root.wf_id) if root is not None else None,
    )
    session.add(wf)
    session.flush()
    if wf.root_wf_id is None:
        wf.root_wf_id = wf.wf_id
    return wf


def _load_static(p: _Pass, submit_dir: Path, dag_file: str) -> None:
    static = read_static(submit_dir, dag_file)
    rows = [
        {
            "wf_id": p.wf_id,
            "exec_job_id": n.name,
            "submit_file": n.submit_file,
            "type_desc": n.type_desc,
            "clustered": n.clustered,
            "max_retries": n.max_retries,
            "executable": n.executable,
            "argv": n.argv,
            "task_count": len(n.tasks),
            "pre_script": n.pre_script,
            "post_script": n.post_script,
        }
        for n in static.nodes
    ]
    ids = insert_returning_ids(p.s, Job, "job_id", rows)
    tasks = []
    seen: set[str] = set()
    for node, job_id in zip(static.nodes, ids, strict=True):
        has_post = node.post_script is not None
        p.jobs[node.name] = JobInfo(
            job_id, node.submit_file, has_post, node.post_script, node.pre_script, node.type_desc
        )
        for t in node.tasks:
            if t.abs_task_id in seen:
                continue
            seen.add(t.abs_task_id)
            tasks.append(
                {
                    "wf_id": p.wf_id,
                    "job_id": job_id,
                    "abs_task_id": t.abs_task_id,
                    "transformation": t.transformation,
                    "argv": t.argv,
                    "type_desc": "compute",
                }
            )
    insert_rows(
        p.s,
        JobEdge,
        [
            {"wf_id": p.wf_id, "parent_exec_job_id": a, "child_exec_job_id": b}
            for a, b in sorted(set(static.edges))
        ],
    )
    task_ids = insert_returning_ids(p.s, Task, "task_id", tasks)
    meta = read_metadata(submit_dir, p.wf.dax_file)
    insert_rows(
        p.s,
        WorkflowMeta,
        [{"wf_id": p.wf_id, "key": k, "value": v} for k, v in meta.workflow.items()],
    )
    by_task = {t["abs_task_id"]: i for t, i in zip(tasks, task_ids, strict=True)}
    insert_rows(
        p.s,
        TaskMeta,
        [
            {"task_id": by_task[task], "key": k, "value": v}
            for task, values in meta.tasks.items()
            if task in by_task
            for k, v in values.items()
        ],
    )


def _read_progress(p: _Pass, submit_dir: Path, dag_file: str) -> Progress | None:
    status_file = submit_dir / f"{dag_file}.status"
    dagman_out = submit_dir / f"{dag_file}.dagman.out"
    prog: Progress | None = None
    if dagman_out.is_file():
        st = dagman_out.stat()
        key = f"{dag_file}.dagman.out"
        c = p.cursors.get(key)
        if c is None or c.size != st.st_size or c.mtime != st.st_mtime:
            with open(dagman_out, "rb") as fh:
                fh.seek(p.offset(key))
                data = fh.read()
            cut = data.rfind(b"\n") + 1
            prior = None
            if c is not None and c.state:
                prior = Progress(**c.state)
            prog = scan_dagman_out(data[:cut].decode("utf-8", "replace"), prior)
            p.set_cursor(key, p.offset(key) + cut, st.st_size, st.st_mtime)
            if prog is not None:
                p.cursors[key].state = dict(prog.__dict__)
    if not status_file.is_file():
        return prog
    # With a node status file, its counts win; dagman.out only adds DAGMan's exit status.
    exit_status = prog.exit_status if prog is not None else None
    st = status_file.stat()
    key = f"{dag_file}.status"
    c = p.cursors.get(key)
    from_file = None
    if c is None or c.size != st.st_size or c.mtime != st.st_mtime:
        from_file = read_node_status(status_file)
        if from_file is not None:
            p.set_cursor(key, st.st_size, st.st_size, st.st_mtime)
    if from_file is None:
        row = p.s.get(DagStatus, p.wf_id)
        if row is None or exit_status is None:
            return None  # nothing new to say
        from_file = Progress(
            **{k: getattr(row, k) for k in Progress.__dataclass_fields__ if k != "exit_status"}
        )
    if exit_status is not None:
        from_file.exit_status = exit_status
    elif c is not None:
        row = p.s.get(DagStatus, p.wf_id)
        from_file.exit_status = row.exit_status if row is not None else None
    return from_file


def _write_progress(p: _Pass, prog: Progress) -> None:
    values = dict(prog.__dict__)
    stmt = dialect_insert(p.s, DagStatus).values(wf_id=p.wf_id, **values)
    p.s.execute(stmt.on_conflict_do_update(index_elements=["wf_id"], set_=values))


def monitor_run(
    session: Session,
    target: str | Path,
    *,
    run_id: str | None = None,
    parent: Workflow | None = None,
) -> MonitorResult:
    """Bring the provenance rows of a run (a run id, or a submit dir) up to date; one pass.

    Flushes but does not commit: the caller's transaction makes the pass atomic.

    The cyclic garbage collector is paused during the pass (as the planner does): a pass
    builds tens of thousands of small rows that never form cycles, and collections rescanning
    them and everything else alive in the process (a planning `aerie run`, a worker) cost
    ~20% of a pass; what the pass leaves behind is collected after it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _monitor_pass(session, target, run_id=run_id, parent=parent)
    finally:
        if was_enabled:
            gc.enable()


def _monitor_pass(
    session: Session,
    target: str | Path,
    *,
    run_id: str | None,
    parent: Workflow | None,
) -> MonitorResult:
    submit_dir, found_run = _find_run_dir(session, target)
    bd = read_braindump(submit_dir)
    if parent is not None:
        found_run = None
    wf = _ensure_workflow(
        session,
        submit_dir,
        bd,
        None if parent is not None else run_id or found_run or bd.aerie.get("run_id"),
        parent,
    )
    if wf.source != "native":
        # Rows of imported runs belong to `aerie import`; tailing them again would duplicate.
        return MonitorResult(wf_id=wf.wf_id)
    p = _Pass(session, submit_dir, wf)
    p.load()
    static_now = STATIC_CURSOR not in p.cursors
    if static_now:
        if not (submit_dir / bd.dag).is_file():
            raise MonitorError(f"{submit_dir / bd.dag}: the DAG named in braindump.yml is missing")
        _load_static(p, submit_dir, bd.dag)  # fills p.jobs; no restarts before the first pass
        p.set_cursor(STATIC_CURSOR, 0, 0, None)

    # Read jobstate.log before nodes.log: DAGMan writes a jobstate line only after reading the
    # event it describes, so every line read here refers to an event the second read sees.
    jobstate_path = submit_dir / "jobstate.log"
    lines: list[JobstateLine] = []
    if jobstate_path.is_file():
        st = jobstate_path.stat()
        start = p.offset("jobstate.log")
        _check_not_shrunk(jobstate_path, st.st_size, start)
        if st.st_size != start:
            lines, end = read_jobstate(jobstate_path, start)
            p.set_cursor("jobstate.log", end, st.st_size, st.st_mtime)
    nodes_name = f"{bd.dag}.nodes.log"
    nodes_path = submit_dir / nodes_name
    events: list[ev.Event] = []
    if nodes_path.is_file():
        st = nodes_path.stat()
        start = p.offset(nodes_name)
        _check_not_shrunk(nodes_path, st.st_size, start)
        if st.st_size != start:
            events, end = ev.read_events(nodes_path, start)
            p.set_cursor(nodes_name, end, st.st_size, st.st_mtime)
    p.result.events = len(events) + len(lines)

    if events or lines:
        sched_ids = {e.sched_id for e in events} | {line.value for line in lines if line.value}
        names = {e.node for e in events if e.node} | {line.node for line in lines}
        if not static_now:
            p.load_jobs(sched_ids, names)
        p.load_instances(sched_ids, names)
        merged: list[tuple[float, int, int, Any]] = []
        for i, e in enumerate(events):
            merged.append((e.timestamp, 1, i, e))
        for i, line in enumerate(lines):
            if line.node == "INTERNAL":
                rank = 0 if line.event == "DAGMAN_STARTED" else 3
                key = line.timestamp + (0.0 if rank == 0 else 0.9999)
            elif line.event.startswith("PRE_SCRIPT"):
                rank, key = 0, line.timestamp
            else:  # whole-second stamps: order them after the same second's events
                rank, key = 2, line.timestamp + 0.9999
            merged.append((key, rank, i, line))
        merged.sort()  # (time, rank, position) is unique, so records are never compared
        for _, _, _, item in merged:
            if isinstance(item, ev.Event):
                p.apply_event(item)
            else:
                p.apply_line(item)
        p.collect_outputs()
        p.flush_instances()
        p.write_workflow_states()

    prog = _read_progress(p, submit_dir, bd.dag)
    if prog is not None:
        _write_progress(p, prog)
    _follow_sub_workflows(p)
    session.flush()
    return p.result


def _check_not_shrunk(path: Path, size: int, offset: int) -> None:
    """Engines only append to their logs; a shorter file was replaced, and reading it again
    from the start would record every attempt twice."""
    if size < offset:
        raise MonitorError(
            f"{path}: shrank from {offset} to {size} bytes since the last pass; the log was "
            "replaced, so its records cannot be matched to the ones already stored"
        )


def _follow_sub_workflows(p: _Pass) -> None:
    """Monitor each SUBDAG node's own submit dir as a child workflow, and link the node's
    instances to it (stampede's `job_instance.subwf_id`)."""
    subs = p.s.execute(
        select(Job.job_id, Job.submit_file).where(
            Job.wf_id == p.wf_id, Job.type_desc.in_(("dag", "dax")), Job.submit_file.is_not(None)
        )
    ).all()
    for job_id, submit_file in subs:
        sub_dir = (p.dir / str(submit_file)).parent
        if sub_dir == p.dir or not (sub_dir / "braindump.yml").is_file():
            continue
        child = monitor_run(p.s, sub_dir, parent=p.wf)
        p.result.events += child.events
        p.result.job_instances += child.job_instances
        p.result.jobstates += child.jobstates
        p.result.invocations += child.invocations
        p.result.workflow_states += child.workflow_states
        ji = table_of(JobInstance)
        p.s.execute(
            update(ji)
            .where(ji.c.job_id == job_id, ji.c.subwf_id.is_(None))
            .values(subwf_id=child.wf_id)
        )


def rows_for(session: Session, wf_id: int) -> dict[str, int]:
    """Row counts per provenance table for one workflow (tests and `aerie` diagnostics)."""
    jobs = select(Job.job_id).where(Job.wf_id == wf_id).scalar_subquery()
    inst = select(JobInstance.job_instance_id).where(JobInstance.job_id.in_(jobs))
    counts = {
        "job": select(func.count()).select_from(Job).where(Job.wf_id == wf_id),
        "job_edge": select(func.count()).select_from(JobEdge).where(JobEdge.wf_id == wf_id),
        "task": select(func.count()).select_from(Task).where(Task.wf_id == wf_id),
        "job_instance": select(func.count())
        .select_from(JobInstance)
        .where(JobInstance.job_id.in_(jobs)),
        "jobstate": select(func.count())
        .select_from(JobState)
        .where(JobState.job_instance_id.in_(inst)),
        "invocation": select(func.count()).select_from(Invocation).where(Invocation.wf_id == wf_id),
        "workflowstate": select(func.count())
        .select_from(WorkflowState)
        .where(WorkflowState.wf_id == wf_id),
        "host": select(func.count()).select_from(Host).where(Host.wf_id == wf_id),
        "rc_lfn": select(func.count()).select_from(RCLfn).where(RCLfn.wf_id == wf_id),
        "rc_meta": select(func.count())
        .select_from(RCMeta)
        .where(RCMeta.lfn_id.in_(select(RCLfn.lfn_id).where(RCLfn.wf_id == wf_id))),
        "workflow_files": select(func.count())
        .select_from(WorkflowFiles)
        .where(WorkflowFiles.wf_id == wf_id),
        "integrity": select(func.count()).select_from(Integrity).where(Integrity.wf_id == wf_id),
        "tag": select(func.count()).select_from(Tag).where(Tag.wf_id == wf_id),
    }
    return {name: int(session.scalar(q) or 0) for name, q in counts.items()}


__all__ = ["MonitorError", "MonitorResult", "monitor_run", "rows_for"]
