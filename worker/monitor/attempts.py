"""What the monitor knows about a workflow's attempts while it applies new records.

Pure bookkeeping, no database: the loader fills a `Tracker` with the attempts earlier passes
wrote, feeds it the new node-log events and jobstate.log lines in time order, and writes what
it collected (new and changed attempts, their states, PRE/POST script invocations, workflow
starts and ends). The rules are monitord's (SPEC §4.2, §4.3): one attempt per SUBMIT of a node
(or per PRE script start / SUBMIT_FAILURE), exit codes as raw wait statuses, the POST script's
code overwriting the job's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from worker.monitor import eventlog as ev
from worker.monitor.jobstate import JobstateLine
from worker.monitor.records import AttemptRows


@dataclass(slots=True)
class Attempt:
    """One DAGMan attempt of a node (a `job_instance` row, `id` None until written)."""

    id: int | None
    job_id: int
    node: str
    seq: int
    try_index: int
    sched_id: str | None = None
    next_state: int = 1
    execute_ts: float | None = None
    terminate_ts: float | None = None
    post_start_ts: float | None = None
    pre_start_ts: float | None = None
    exitcode: int | None = None
    local_duration: float | None = None
    site: str | None = None
    pending_pre: bool = False
    submitted: bool = False
    dirty: bool = False
    states: list[tuple[str, float, str | None]] = field(default_factory=list)
    scripts: list[dict[str, Any]] = field(default_factory=list)
    out: AttemptRows | None = None
    host_id: int | None = None


@dataclass(slots=True)
class JobInfo:
    """What applying records needs to know about a DAG node (its `job` row)."""

    job_id: int
    submit_file: str | None
    has_post: bool
    post_script: str | None
    pre_script: str | None
    type_desc: str = "compute"


def int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.lstrip("-").isdigit() else None


def wait_status(return_value: int | None, signal: int | None) -> int | None:
    """Kickstart's raw status: `exit << 8`, or the signal number."""
    if signal is not None:
        return signal
    if return_value is None:
        return None
    return (return_value & 0xFF) << 8


class Tracker:
    """Attempts by node and by HTCondor id, and what a pass must write."""

    def __init__(self) -> None:
        self.jobs: dict[str, JobInfo] = {}
        self.by_sched: dict[str, Attempt] = {}
        self.last: dict[str, Attempt] = {}
        self.tries: dict[str, int] = {}
        self.instances: list[Attempt] = []  # existing attempts touched in this pass
        self.new: list[Attempt] = []
        self.finished: list[Attempt] = []
        self.next_seq = 1
        self.restarts = 0
        self.wf_states: list[dict[str, Any]] = []

    def _new_instance(self, node: str) -> Attempt | None:
        info = self.jobs.get(node)
        if info is None:
            return None
        inst = Attempt(
            id=None,
            job_id=info.job_id,
            node=node,
            seq=self.next_seq,
            try_index=self.tries.get(node, 0),
            dirty=True,
        )
        self.next_seq += 1
        self.tries[node] = inst.try_index + 1
        self.last[node] = inst
        self.new.append(inst)
        return inst

    def _state(self, inst: Attempt, state: str, ts: float, reason: str | None = None) -> None:
        inst.states.append((state, ts, reason))

    def _touch(self, inst: Attempt) -> None:
        if not inst.dirty:
            inst.dirty = True
            self.instances.append(inst)

    def _find(self, sched_id: str | None, node: str | None) -> Attempt | None:
        if sched_id and sched_id in self.by_sched:
            return self.by_sched[sched_id]
        if node:
            return self.last.get(node)
        return None

    def _finish(self, inst: Attempt) -> None:
        self.finished.append(inst)

    def apply_event(self, e: ev.Event) -> None:
        code = e.code
        if code == ev.SUBMIT:
            if e.node is None:
                return
            inst = self.last.get(e.node)
            if inst is None or not (inst.pending_pre and not inst.submitted):
                inst = self._new_instance(e.node)
                if inst is None:
                    return
            inst.pending_pre = False
            inst.submitted = True
            inst.sched_id = e.sched_id
            self.by_sched[e.sched_id] = inst
            self._touch(inst)
            self._state(inst, "SUBMIT", e.timestamp)
            return
        found = self._find(e.sched_id, e.node)
        if found is None:
            return
        inst = found
        self._touch(inst)
        ts = e.timestamp
        if code == ev.EXECUTE:
            inst.execute_ts = ts
            self._state(inst, "EXECUTE", ts)
        elif code == ev.JOB_TERMINATED:
            inst.terminate_ts = ts
            if inst.execute_ts is not None:
                inst.local_duration = ts - inst.execute_ts
            inst.exitcode = wait_status(e.return_value, e.signal)
            self._state(inst, "JOB_TERMINATED", ts)
            self._state(inst, "JOB_SUCCESS" if inst.exitcode == 0 else "JOB_FAILURE", ts)
            if not self.jobs[inst.node].has_post:
                self._finish(inst)
        elif code == ev.JOB_ABORTED:
            if inst.local_duration is None and inst.execute_ts is not None:
                inst.local_duration = ts - inst.execute_ts
            if inst.exitcode is None or inst.exitcode == 0:
                inst.exitcode = 1
            self._state(inst, "JOB_ABORTED", ts, e.reason)
            if not self.jobs[inst.node].has_post:
                self._finish(inst)
        elif code == ev.JOB_HELD:
            self._state(inst, "JOB_HELD", ts, e.reason)
        elif code == ev.JOB_RELEASED:
            self._state(inst, "JOB_RELEASED", ts, e.reason)
        elif code == ev.JOB_EVICTED:
            self._state(inst, "JOB_EVICTED", ts)
        elif code == ev.IMAGE_SIZE:
            self._state(inst, "IMAGE_SIZE", ts)
        elif code == ev.GRID_SUBMIT:
            self._state(inst, "GRID_SUBMIT", ts)
        elif code == ev.POST_SCRIPT_TERMINATED:
            status = wait_status(e.return_value, e.signal)
            self._state(inst, "POST_SCRIPT_TERMINATED", ts)
            self._state(inst, "POST_SCRIPT_SUCCESS" if status == 0 else "POST_SCRIPT_FAILED", ts)
            if inst.local_duration is None and inst.execute_ts is not None:
                inst.local_duration = (inst.terminate_ts or ts) - inst.execute_ts
            inst.exitcode = status
            # jobstate.log stamps are whole seconds: never start the POST before the job ended
            known = [t for t in (inst.post_start_ts, inst.terminate_ts) if t is not None]
            start = min(max(known), ts) if known else ts
            inst.scripts.append(self._script_row(inst, -2, "dagman::post", start, ts, status))
            self._finish(inst)

    def _script_row(
        self, inst: Attempt, seq: int, tx: str, start: float, end: float, status: int | None
    ) -> dict[str, Any]:
        info = self.jobs[inst.node]
        command = info.post_script if seq == -2 else info.pre_script
        exe, _, args = (command or "").partition(" ")
        return {
            "task_submit_seq": seq,
            "start_time": start,
            "remote_duration": max(0.0, end - start),
            "remote_cpu_time": None,
            "exitcode": status,
            "transformation": tx,
            "executable": exe or None,
            "argv": args or None,
            "abs_task_id": None,
            "maxrss": None,
            "avg_cpu": None,
            "failed_step": None,
        }

    def apply_line(self, line: JobstateLine) -> None:
        if line.node == "INTERNAL":
            if line.event == "DAGMAN_STARTED":
                self.wf_states.append(
                    {
                        "state": "WORKFLOW_STARTED",
                        "timestamp": line.timestamp,
                        "restart_count": self.restarts,
                        "status": None,
                        "reason": None,
                    }
                )
                self.restarts += 1
            elif line.event == "DAGMAN_FINISHED":
                status = int_or_none(line.value)
                self.wf_states.append(
                    {
                        "state": "WORKFLOW_TERMINATED",
                        "timestamp": line.timestamp,
                        "restart_count": max(0, self.restarts - 1),
                        "status": status,
                        "reason": None,
                    }
                )
            return
        event = line.event
        if event == "PRE_SCRIPT_STARTED":
            inst = self._new_instance(line.node)
            if inst is None:
                return
            inst.pending_pre = True
            inst.pre_start_ts = line.timestamp
            inst.site = line.site
            self._touch(inst)
            self._state(inst, "PRE_SCRIPT_STARTED", line.timestamp)
        elif event in ("PRE_SCRIPT_SUCCESS", "PRE_SCRIPT_FAILURE"):
            inst_or_none = self.last.get(line.node)
            if inst_or_none is None:
                return
            inst = inst_or_none
            self._touch(inst)
            ok = event == "PRE_SCRIPT_SUCCESS"
            code = int_or_none(line.value)
            code = 1 if code is None else code
            status = 0 if ok else (code & 0xFF) << 8
            self._state(inst, "PRE_SCRIPT_TERMINATED", line.timestamp)
            self._state(inst, "PRE_SCRIPT_SUCCESS" if ok else "PRE_SCRIPT_FAILED", line.timestamp)
            start = inst.pre_start_ts or line.timestamp
            inst.scripts.append(
                self._script_row(inst, -1, "dagman::pre", start, line.timestamp, status)
            )
            if not ok:
                inst.exitcode = status
                inst.pending_pre = False
        elif event in ("SUBMIT_FAILURE", "SUBMIT_FAILED"):
            # DAGMan could not submit the job: an attempt without any job event (stampede sets
            # the instance's exit code to 1)
            pending = self.last.get(line.node)
            inst = pending if pending is not None and pending.pending_pre else None
            inst = inst or self._new_instance(line.node)
            if inst is None:
                return
            inst.pending_pre = False
            inst.exitcode = 1
            inst.site = inst.site or line.site
            self._touch(inst)
            self._state(inst, "SUBMIT_FAILED", line.timestamp)
        elif event == "POST_SCRIPT_STARTED":
            found = self._find(line.value, line.node)
            if found is None:
                return
            self._touch(found)
            found.post_start_ts = line.timestamp
            if line.site and not found.site:
                found.site = line.site
            self._state(found, "POST_SCRIPT_STARTED", line.timestamp)
        elif event == "SUBMIT" and line.site:
            found = self._find(line.value, line.node)
            if found is not None and not found.site:
                found.site = line.site
                self._touch(found)
