"""The DAGMan-semantics state machine: which node runs next, and what its ending means.

Semantics (htcondor SPEC §1.4): a node is PRE → job → POST; it succeeds iff the last component
that ran exited 0 (the POST decides when there is one). A failed node is re-run whole (PRE, job,
POST) while RETRY allows, unless its value equals UNLESS-EXIT; then its descendants become
futile and everything else still runs. ABORT-DAG-ON beats RETRY: a PRE or POST value, or a job
value of a node without POST, equal to the abort value stops the DAG. Ready nodes start by
PRIORITY (higher first, then file order) within the global MAXJOBS, the category MAXJOBS and
the host's free cpus / memory / gpus (vanilla universe only; local and scheduler universe jobs
run beside the slots, as on an access point). A FINAL node runs after everything else.

Everything happens in one thread: a selector waits on pidfds of running children and on the
signal wake-up pipe; each turn starts what can start, handles what ended and flushes the logs.
"""

from __future__ import annotations

import errno
import heapq
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections import Counter, deque
from pathlib import Path

from worker.engines.local import isolation
from worker.engines.local import process as proc
from worker.engines.local.config import EngineConfig
from worker.engines.local.dagfile import Dag, Node, Script
from worker.engines.local.dagmanout import DagmanOut
from worker.engines.local.eventlog import EventLogWriter, Resources, Usage
from worker.engines.local.jobstate import JobStateLog
from worker.engines.local.nodestate import (
    COUNT_KEYS,
    DAG_STATUS_ABORT,
    DAG_STATUS_ERROR,
    DAG_STATUS_NAMES,
    DAG_STATUS_NODE_FAILED,
    DAG_STATUS_OK,
    DAG_STATUS_RM,
    DONE,
    ERROR,
    FUTILE,
    NOT_READY,
    POSTRUN,
    PRERUN,
    READY,
    RETURN_PRE_FAILED,
    RETURN_REMOVED,
    RETURN_SUBMIT_FAILED,
    SUBMITTED,
    NodeRun,
    Running,
    RunResult,
)
from worker.engines.local.rescue import write_rescue
from worker.engines.local.starter import Finished, Held, Request, Started, StarterPool
from worker.engines.local.statusfile import NodeSnapshot, render, write_atomically
from worker.engines.local.submit import (
    JobSpec,
    SubmitCache,
    SubmitFileError,
    TransferError,
    build_environment,
    empty_directory,
    load_job,
    make_scratch,
    remove_scratch,
    transfer_inputs,
    transfer_outputs,
)

MAX_DEFERRED_PER_TURN = 256
"""Ready nodes that cannot start now (PRE throttle, local-universe limit, a request larger
than what is free) are skipped over; looking further than this many per turn would make a
turn cost O(ready nodes) while thousands wait."""
_CLUSTER_MACROS = frozenset({"Cluster", "ClusterId"})
"""Macros whose value changes on every submit: a parse that does not use them is reused."""


class DagRun:
    """Runs one parsed DAG to the end. Construct, then call `run()` once."""

    def __init__(
        self,
        dag: Dag,
        config: EngineConfig,
        *,
        first_cluster: int = 1,
        rescue_number: int = 0,
        procs_file: Path | None = None,
        dagman_id: str | None = None,
        recovered: bool = False,
        retries_used: dict[str, int] | None = None,
    ) -> None:
        self.dag = dag
        self.cfg = config.resolve(dag.config, dag.path.resolve().parent)
        self.dag_path = dag.path.resolve()
        self.base_dir = self.dag_path.parent
        self.rescue_number = rescue_number
        self.dagman_id = dagman_id or f"{os.getpid()}.0"
        self.recovered = recovered
        self.next_cluster = first_cluster
        self.submit_cache = SubmitCache()
        self.engine_env = dict(os.environ)
        self.hostname = socket.gethostname()
        self.lite = proc.lite_main() if self.cfg.inprocess_wrapper else None
        self.identity = isolation.identity_for(self.cfg.job_user)
        if self.identity is not None:
            isolation.prepare_submit_dir(self.dag_path, self.identity)
            assert self.cfg.scratch_root is not None
            isolation.prepare_scratch_root(self.cfg.scratch_root)

        self.runs = {name: NodeRun(node=node) for name, node in dag.nodes.items()}
        for name, used in (retries_used or {}).items():
            self.runs[name].retry = used
        self.counts: Counter[int] = Counter()
        self.ready: list[tuple[int, int, str]] = []
        self.category_waiting: dict[str, deque[tuple[int, int, str]]] = {}
        self.post_waiting: deque[str] = deque()
        self.timers: list[tuple[float, int, str, str]] = []
        self.running: dict[int, Running] = {}
        self.jobs_running = 0
        self.local_running = 0
        self.pre_running = 0
        self.post_running = 0
        self.category_running: Counter[str] = Counter()
        assert self.cfg.cpus is not None and self.cfg.memory_mb is not None
        self.free_cpus = self.cfg.cpus
        self.free_memory = self.cfg.memory_mb
        self.free_gpus = self.cfg.gpus or 0
        self.slot_counter = 0
        self.scratch_pool: list[Path] = []
        self.request_hints: dict[str, tuple[bool, int, int, int]] = {}
        self.jobs_run = 0
        self.final_started = False
        self.abort: tuple[str, int] | None = None
        self.stop_signal: int | None = None
        self.dag_status = DAG_STATUS_OK
        self.changed = True
        # The node status file has its own flag: the dagman.out table clears `changed` on
        # its own schedule, and a change the status file skipped (min update interval) must
        # still reach it at the next allowed write.
        self.status_changed = True
        self.last_table = 0.0
        self.next_status_write = 0.0

        self.reaper = proc.Reaper()
        self.starters = (
            StarterPool(self.lite, self.reaper)
            if self.lite is not None and self.cfg.starters
            else None
        )
        self.nodes_log = EventLogWriter(self.dag_path.with_name(self.dag_path.name + ".nodes.log"))
        self.extra_logs: dict[Path, EventLogWriter] = {}
        self.out = DagmanOut(self.dag_path.with_name(self.dag_path.name + ".dagman.out"))
        self.jobstate = (
            JobStateLog(self._path(dag.jobstate_log)) if dag.jobstate_log is not None else None
        )
        self.procs_file = open(procs_file, "a") if procs_file else None  # noqa: SIM115
        self.start_time = time.time()

    # ------------------------------------------------------------------ helpers
    def _path(self, text: str, directory: Path | None = None) -> Path:
        path = Path(text)
        return path if path.is_absolute() else (directory or self.base_dir) / path

    def _node_dir(self, node: Node) -> Path:
        return self._path(node.directory) if node.directory else self.base_dir

    def _set_status(self, run: NodeRun, status: int, details: str = "") -> None:
        self.counts[run.status] -= 1
        self.counts[status] += 1
        run.status = status
        run.details = details
        self.changed = True
        # The node status file has its own flag: the dagman.out table clears `changed` on
        # its own schedule, and a change the status file skipped (min update interval) must
        # still reach it at the next allowed write.
        self.status_changed = True

    def _push_ready(self, run: NodeRun) -> None:
        if run.status != READY:
            self._set_status(run, READY)
        node = run.node
        heapq.heappush(self.ready, (-node.priority, node.order, node.name))

    def count_table(self) -> dict[str, int]:
        table = {key: self.counts[code] for code, key in COUNT_KEYS.items()}
        table["Total"] = len(self.runs)
        return table

    def _jobstate(self, run: NodeRun, event: str, value: str, when: float | None = None) -> None:
        if self.jobstate is not None:
            self.jobstate.event(
                when or time.time(), run.node.name, event, value, run.tag, run.sequence
            )

    def _logs_for(self, spec: JobSpec | None) -> list[EventLogWriter]:
        logs = [self.nodes_log]
        if spec is not None and spec.log is not None and spec.log != self.nodes_log.path:
            writer = self.extra_logs.get(spec.log)
            if writer is None:
                try:
                    writer = EventLogWriter(spec.log)
                except OSError as exc:
                    self.out.line(f"WARNING: cannot open job log {spec.log}: {exc.strerror}")
                    return logs
                self.extra_logs[spec.log] = writer
            logs.append(writer)
        return logs

    # ------------------------------------------------------------------ entry
    def run(self) -> RunResult:
        self._banner()
        self._initialise()
        # Signals can only be caught in the main thread; elsewhere (an embedding that runs
        # the engine in a thread) removal goes through `request_stop`.
        main_thread = threading.current_thread() is threading.main_thread()
        previous = {}
        old_wakeup = -1
        if main_thread:
            previous = {
                signum: signal.signal(signum, self._on_signal)
                for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
            }
            old_wakeup = signal.set_wakeup_fd(self.reaper.wakeup_fd)
        try:
            self._loop()
            if self.stop_signal is not None:
                result = self._stop_removed()
            else:
                result = self._finish()
        finally:
            if main_thread:
                signal.set_wakeup_fd(old_wakeup)
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
            self._close()
        return result

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stop_signal = signum

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Remove the DAG as if SIGTERM had arrived (safe to call from another thread)."""
        self.stop_signal = signum
        try:
            os.write(self.reaper.wakeup_fd, b"\0")
        except OSError:
            pass

    def _banner(self) -> None:
        self.out.line("******************************************************")
        self.out.line(f"** aerie_local_engine.{self.dagman_id} (CONDOR_DAGMAN) STARTING UP")
        self.out.line(f"** {sys.executable} -m worker.engines.local")
        self.out.line(f"** PID = {os.getpid()}")
        self.out.line("******************************************************")
        self.out.line(
            f"Host capacity: {self.cfg.cpus} cpus, {self.cfg.memory_mb} MB memory, "
            f"{self.cfg.gpus} gpus; scratch in {self.cfg.scratch_root}"
        )
        self.out.line(f"Default node log file is: <{self.nodes_log.path}>")
        self.out.line(f"DAG Input file is {self.dag_path.name}")
        for warning in self.dag.warnings:
            self.out.line(f"Warning: {warning}")
        if self.rescue_number:
            self.out.line(f"Running rescue DAG {self.rescue_number}")
        self.out.line(f"Dag contains {len(self.runs)} total jobs")
        if self.jobstate is not None:
            self.jobstate.internal(f"DAGMAN_STARTED {self.dagman_id}")

    def _initialise(self) -> None:
        self.counts[NOT_READY] = len(self.runs)
        for run in self.runs.values():
            if run.node.done:
                self._set_status(run, DONE)
        precompleted = self.counts[DONE]
        self.out.line(f"Number of pre-completed nodes: {precompleted}")
        for run in self.runs.values():
            run.waiting_parents = sum(
                1 for parent in run.node.parents if self.runs[parent].status != DONE
            )
            if run.status == NOT_READY and run.waiting_parents == 0 and run.node.kind != "final":
                self._push_ready(run)
        self._table(force=True)

    # ------------------------------------------------------------------ main loop
    def _loop(self) -> None:
        idle_turns = 0
        while self.stop_signal is None:
            self._fire_timers()
            if self.abort is None:
                self._start_ready()
            self._start_posts()
            if not self.running and not self.timers and not self.post_waiting:
                if self.abort is None and self.ready:
                    # A submit failure queued a retry: start it. Ready nodes with nothing
                    # running that still cannot start would wait forever; fail them instead.
                    idle_turns += 1
                    if idle_turns > 3:
                        self._fail_unschedulable()
                    continue
                if not self._start_final():
                    break
                continue
            idle_turns = 0
            timeout = 1.0
            if self.timers:
                timeout = max(0.0, min(timeout, self.timers[0][0] - time.time()))
            for event in self.reaper.wait(timeout):
                self._on_event(event)
            self._periodic()
            self._flush()

    def _fail_unschedulable(self) -> None:
        while self.ready:
            run = self.runs[heapq.heappop(self.ready)[2]]
            if run.status == READY:
                self.out.line(f"ERROR: node {run.node.name} can never be scheduled on this host")
                self._set_status(run, ERROR, "cannot be scheduled")
                self.dag_status = DAG_STATUS_NODE_FAILED
                self._mark_futile(run)

    def _flush(self) -> None:
        self.nodes_log.flush()
        for writer in self.extra_logs.values():
            writer.flush()
        if self.jobstate is not None:
            self.jobstate.flush()
        self.out.flush()
        if self.procs_file is not None:
            self.procs_file.flush()

    def _periodic(self) -> None:
        now = time.time()
        if self.changed and now - self.last_table >= self.cfg.table_interval_seconds:
            self._table()
        spec = self.dag.node_status_file
        if (
            spec is not None
            and now >= self.next_status_write
            and (self.status_changed or spec.always_update)
        ):
            self._write_status_file(now)

    def _table(self, force: bool = False) -> None:
        self.out.table(self.dag_status, DAG_STATUS_NAMES[self.dag_status], self.count_table())
        self.last_table = time.time()
        if not force:
            self.changed = False

    def _write_status_file(self, now: float, final: bool = False) -> None:
        spec = self.dag.node_status_file
        if spec is None:
            return
        self.next_status_write = now + max(spec.min_update_seconds, 0)
        self.status_changed = False
        if self.stop_signal is not None or self.abort is not None:
            dag_node_status = ERROR
        elif final:
            dag_node_status = DONE if self.dag_status == DAG_STATUS_OK else ERROR
        else:
            dag_node_status = SUBMITTED if self.running else READY
        snapshots = [
            NodeSnapshot(
                name=run.node.name,
                status=run.status,
                details=run.details,
                retry_count=run.retry,
                procs_queued=1 if run.status == SUBMITTED else 0,
            )
            for run in self.runs.values()
        ]
        text = render(
            [self.dag_path.name],
            dag_node_status,
            self.count_table(),
            snapshots,
            0 if final else self.next_status_write,
            now,
        )
        try:
            write_atomically(self._path(spec.path), text)
        except OSError as exc:
            self.out.line(f"WARNING: cannot write node status file {spec.path}: {exc.strerror}")

    def _fire_timers(self) -> None:
        now = time.time()
        while self.timers and self.timers[0][0] <= now:
            _, _, kind, name = heapq.heappop(self.timers)
            run = self.runs[name]
            if kind == "pre":
                self._push_ready(run)
            else:
                self.post_waiting.append(name)

    # ------------------------------------------------------------------ starting
    def _start_ready(self) -> None:
        if self.ready:
            # What made these nodes ready (a parent's 005/016 events) must be on disk before
            # a child starts: a SIGKILLed engine recovers from the log, and a completion lost
            # in the buffer would run that parent again.
            self._flush()
        deferred: list[tuple[int, int, str]] = []
        while self.ready:
            item = heapq.heappop(self.ready)
            run = self.runs[item[2]]
            if run.status != READY:
                continue
            outcome = self._try_start(run)
            if outcome == "started":
                continue
            if outcome == "category":
                category = run.node.category or ""
                self.category_waiting.setdefault(category, deque()).append(item)
                continue
            deferred.append(item)
            if outcome == "full" or len(deferred) >= MAX_DEFERRED_PER_TURN:
                break
        for item in deferred:
            heapq.heappush(self.ready, item)

    def _try_start(self, run: NodeRun) -> str:
        node = run.node
        if node.pre is not None and not run.pre_done:
            if self.cfg.max_pre and self.pre_running >= self.cfg.max_pre:
                return "blocked"
            self._start_script(run, node.pre, "pre")
            return "started"
        if node.noop:
            self._job_skipped(run)
            return "started"
        if self.cfg.max_jobs and self.jobs_running >= self.cfg.max_jobs:
            return "full"
        category = node.category
        if category is not None:
            limit = self.dag.maxjobs.get(category)
            if limit and self.category_running[category] >= limit:
                return "category"
        hint = self.request_hints.get(node.name) or self.request_hints.get(node.submit_file)
        if hint is not None and self._cannot_start(*hint):
            return "full" if self.free_cpus <= 0 else "blocked"
        macros = {
            "JOB": node.name,
            "NODE": node.name,
            "RETRY": str(run.retry),
            "Cluster": str(self.next_cluster),
            "ClusterId": str(self.next_cluster),
            "Process": "0",
            "ProcId": "0",
            "DAGManJobId": self.dagman_id.split(".")[0],
            "DAG_STATUS": str(self.dag_status),
            "FAILED_COUNT": str(self.counts[ERROR]),
            "DAG_PARENT_NAMES": ",".join(node.parents),
        }
        node_dir = self._node_dir(node)
        try:
            if node.kind == "subdag":
                spec = self._subdag_spec(run, node_dir)
            else:
                spec = self._load_job(run, node_dir, macros)
            if not os.access(spec.executable, os.X_OK):
                raise SubmitFileError(
                    f"Executable file {spec.executable} does not exist or is not executable"
                )
        except SubmitFileError as exc:
            self._submit_failed(run, str(exc))
            return "started"
        hint = (spec.uses_slot, spec.request_cpus, spec.request_memory_mb, spec.request_gpus)
        self.request_hints[node.name] = self.request_hints[node.submit_file] = hint
        if spec.uses_slot:
            too_big = (
                spec.request_cpus > (self.cfg.cpus or 0)
                or spec.request_memory_mb > (self.cfg.memory_mb or 0)
                or spec.request_gpus > (self.cfg.gpus or 0)
            )
            if too_big:
                self._never_fits(run, spec)
                return "started"
            if (
                spec.request_cpus > self.free_cpus
                or spec.request_memory_mb > self.free_memory
                or spec.request_gpus > self.free_gpus
            ):
                return "full" if self.free_cpus <= 0 else "blocked"
        elif self.local_running >= (self.cfg.max_local or 1):
            return "blocked"
        self._submit(run, spec)
        return "started"

    def _load_job(self, run: NodeRun, node_dir: Path, macros: dict[str, str]) -> JobSpec:
        """Parse the node's submit file, or reuse the parse of an earlier turn that found the
        slots full: the macros it was parsed under are the same (the cluster number only
        counts when the file mentions it), so the result is too."""
        node = run.node
        path = self._path(node.submit_file, node_dir)
        text = self.submit_cache.text(path)
        if "cluster" in text.lower():
            key: object = (path, tuple(macros.items()))
        else:
            key = (path, tuple(v for k, v in macros.items() if k not in _CLUSTER_MACROS))
        if run.parsed is not None and run.parsed[0] == key:
            return run.parsed[1]
        spec = load_job(path, node_dir, macros, node.vars, self.submit_cache)
        run.parsed = (key, spec)
        return spec

    def _cannot_start(self, uses_slot: bool, cpus: int, memory: int, gpus: int) -> bool:
        """What the node's submit file asked for last time no longer fits: skip parsing it
        again while the slots are full (the real check follows the parse)."""
        if uses_slot:
            if (
                cpus > (self.cfg.cpus or 0)
                or memory > (self.cfg.memory_mb or 0)
                or gpus > (self.cfg.gpus or 0)
            ):
                return False  # never fits: let the parse report it
            return cpus > self.free_cpus or memory > self.free_memory or gpus > self.free_gpus
        return self.local_running >= (self.cfg.max_local or 1)

    def _subdag_spec(self, run: NodeRun, node_dir: Path) -> JobSpec:
        inner = self._path(run.node.submit_file, node_dir)
        if not inner.exists():
            raise SubmitFileError(f"SUBDAG file {inner} does not exist")
        argv = ["-m", "worker.engines.local", "run", str(inner), *self.cfg.to_args()]
        argv += ["--parent-dagman-id", self.dagman_id]
        return JobSpec(
            submit_file=inner,
            universe="scheduler",
            executable=Path(sys.executable),
            arguments=argv,
            environment={},
            getenv=True,
            initialdir=node_dir,
            input=None,
            output=inner.with_name(inner.name + ".lib.out"),
            error=inner.with_name(inner.name + ".lib.err"),
            log=None,
            transfer=False,
            transfer_executable=False,
            transfer_input_files=[],
            transfer_output_files=[],
        )

    def _new_attempt(self, run: NodeRun) -> None:
        if self.jobstate is not None:
            run.sequence = self.jobstate.next_sequence()

    def _submit(self, run: NodeRun, spec: JobSpec) -> None:
        node = run.node
        run.parsed = None
        cluster = self.next_cluster
        self.next_cluster += 1
        run.cluster = cluster
        run.tag = spec.job_tag
        if node.pre is None:
            self._new_attempt(run)
        now = time.time()
        self.out.line(f"Submitting HTCondor Node {node.name} job(s)...")
        self.out.line(f"\tassigned HTCondor ID ({cluster}.0.0)")
        for log in self._logs_for(spec):
            log.submit(cluster, now, node.name, spec.notes)
        self.out.event(0, node.name, cluster, now)
        self._jobstate(run, "SUBMIT", f"{cluster}.0", now)
        self._set_status(run, SUBMITTED, "idle")
        self.jobs_running += 1
        self.jobs_run += 1
        if node.category is not None:
            self.category_running[node.category] += 1
        running = Running("job", node.name, now, cluster, spec, category=node.category)
        if spec.uses_slot:
            self.free_cpus -= spec.request_cpus
            self.free_memory -= spec.request_memory_mb
            self.free_gpus -= spec.request_gpus
            self.slot_counter += 1
            running.slot = f"slot1_{self.slot_counter}"
        else:
            self.local_running += 1
            running.slot = "local"
        scratch = spec.initialdir
        executable = spec.executable
        inprocess = self.lite if self.lite and proc.is_job_wrapper(spec.executable) else None
        # A SUBDAG's engine stays root: it isolates its own jobs.
        identity = None if node.kind == "subdag" else self.identity
        try:
            if spec.uses_slot:
                assert self.cfg.scratch_root is not None
                scratch = self._take_scratch(cluster)
                running.scratch = scratch
            env = build_environment(spec, self.engine_env, scratch, running.slot)
            cwd = scratch if spec.transfer else spec.initialdir
            if inprocess is not None and self.starters is not None:
                # The starter stages the files in and out itself (the wrapper is not copied:
                # it is never exec'd).
                argv = [str(executable), *spec.arguments]
                if self._submit_to_starter(run, running, spec, argv, env, cwd, identity):
                    return
            if spec.uses_slot and spec.transfer:
                # The wrapper run in-process is never exec'd: no need to copy it in.
                with isolation.acting_as(self.identity):
                    running.inputs = transfer_inputs(spec, scratch, inprocess is None)
                executable = running.inputs.executable
                running.bytes_in = running.inputs.bytes
            argv = [str(executable), *spec.arguments]
            pid, running.error_fd = proc.spawn(
                argv, env, cwd, spec.input, spec.output, spec.error, inprocess, identity
            )
        except TransferError as exc:
            self._held_and_removed(run, running, exc.reason, exc.code, exc.subcode, release=True)
            return
        except proc.SetupError as exc:
            # HTCondor would hold a job whose files cannot be opened or program not started.
            self._held_and_removed(run, running, f"Error from starter: {exc}", 6, 0, release=True)
            return
        except OSError as exc:
            reason = f"Error from starter: cannot start job: {exc.strerror}: {exc.filename}"
            self._held_and_removed(run, running, reason, 6, exc.errno or 0, release=True)
            return
        self.reaper.add(pid)
        self.running[pid] = running
        self._record_pid(pid)
        self._executing(run, running, time.time())

    def _submit_to_starter(
        self,
        run: NodeRun,
        running: Running,
        spec: JobSpec,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        identity: isolation.JobIdentity | None,
    ) -> bool:
        """Hand the job to a starter; False when it cannot take it (a request too large
        for its socket): the caller then forks as before. Files that cannot be opened hold
        the job, as a starter's failure to open them would."""
        assert self.starters is not None
        try:
            opened, fds = proc.open_stdio(
                spec.input, spec.output, spec.error, nofollow=identity is not None
            )
        except proc.SetupError as exc:
            self._held_and_removed(run, running, f"Error from starter: {exc}", 6, 0, release=True)
            return True
        transfer = spec.transfer and running.scratch is not None
        request = Request("job", argv, env, cwd, spec if transfer else None, running.scratch)
        try:
            starter = self._send_to_starter(request, fds, identity)
        finally:
            for fd in opened:
                os.close(fd)
        if starter is None:
            return False
        running.via_starter = True
        self.running[starter] = running
        run.details = "starting"
        return True

    def _send_to_starter(
        self, request: Request, fds: list[int], identity: isolation.JobIdentity | None
    ) -> int | None:
        """Send `request` to an idle (or new) starter; its pid, or None when no starter
        takes it (too large for the socket, or a new starter died at once): the caller then
        runs it the old way."""
        assert self.starters is not None
        while True:
            starter, new = self.starters.take(identity)
            if new:
                self._record_pid(starter.pid)
            try:
                starter.send(request, fds)
            except OSError as exc:
                if exc.errno == errno.EMSGSIZE:
                    self.starters.release(starter, served=False)
                    return None
                self.starters.retire(starter)  # died while idle: its pidfd will tell
                if new:
                    self.out.line(f"WARNING: a new starter did not take a request: {exc}")
                    return None
                continue
            return starter.pid

    def _executing(self, run: NodeRun, running: Running, when: float) -> None:
        """The job runs now: HTCondor's execute event."""
        spec = running.spec
        assert spec is not None and running.cluster is not None
        node = run.node
        cluster = running.cluster
        scratch = running.scratch or spec.initialdir
        props: dict[str, object] = {"CondorScratchDir": str(scratch)}
        if spec.uses_slot:
            props.update(
                Cpus=spec.request_cpus, Memory=spec.request_memory_mb, GPUs=spec.request_gpus
            )
        for log in self._logs_for(spec):
            log.execute(cluster, when, f"{running.slot}@{self.hostname}", props)
        self.out.event(1, node.name, cluster, when)
        self._jobstate(run, "EXECUTE", f"{cluster}.0", when)
        run.details = "running"

    def _starter_bookkeeping(self, event: object) -> None:
        """A starter that answered for good is free again; a process that ended may have
        been a starter (idle or busy): the pool forgets it."""
        if self.starters is None:
            return
        if isinstance(event, (Held, Finished)):
            starter = self.starters.by_pid.get(event.pid)
            if starter is not None:
                self.starters.release(starter)
        elif isinstance(event, proc.Exit):
            self.starters.ended(event.pid)

    def _on_event(self, event: object) -> None:
        """One thing the reaper saw: a child's exit, or a starter's answer."""
        if isinstance(event, Started):
            running = self.running.get(event.pid)
            if running is not None and running.kind == "job" and running.via_starter:
                running.bytes_in = event.bytes_in
                self._executing(self.runs[running.name], running, event.when)
            return
        self._starter_bookkeeping(event)
        if isinstance(event, Held):
            running = self.running.pop(event.pid, None)
            if running is not None:
                run = self.runs[running.name]
                self._held_and_removed(
                    run, running, event.reason, event.code, event.subcode, release=True
                )
            return
        if isinstance(event, (proc.Exit, Finished)) and event.pid in self.running:
            self._handle_exit(event)

    def _take_scratch(self, cluster: int) -> Path:
        """An empty scratch directory: a recycled one when available (creating and removing a
        directory per job is what costs most on some file systems), else a new one."""
        if self.scratch_pool:
            return self.scratch_pool.pop()
        assert self.cfg.scratch_root is not None
        scratch = make_scratch(self.cfg.scratch_root, cluster)
        if self.identity is not None:
            isolation.give_scratch(scratch, self.identity)
        return scratch

    def _return_scratch(self, scratch: Path, clean: bool = False) -> None:
        """Empty a job's scratch directory (unless its starter did) and keep it for the next
        job."""
        if (clean or empty_directory(scratch)) and len(self.scratch_pool) < 64:
            self.scratch_pool.append(scratch)
        else:
            remove_scratch(scratch)

    def _record_pid(self, pid: int) -> None:
        if self.procs_file is not None:
            # Flushed at once: an engine killed right after this spawn must still know its child.
            self.procs_file.write(f"{pid} {proc.process_start_time(pid)}\n")
            self.procs_file.flush()

    def _start_script(self, run: NodeRun, script: Script, kind: str) -> None:
        node = run.node
        node_dir = self._node_dir(node)
        argv = [self._script_executable(script.executable, node_dir)]
        argv += [self._script_macro(arg, run, kind) for arg in script.arguments]
        if kind == "pre":
            self._new_attempt(run)
            self._set_status(run, PRERUN)
            self.pre_running += 1
            self._jobstate(run, "PRE_SCRIPT_STARTED", "-")
            self.out.line(f"Running PRE script of Node {node.name}...")
        else:
            self._set_status(run, POSTRUN)
            self.post_running += 1
            self._jobstate(run, "POST_SCRIPT_STARTED", f"{run.cluster or 0}.0")
            self.out.line(f"Running POST script of Node {node.name}...")
        inprocess = self.lite if self.lite and proc.is_job_wrapper(Path(argv[0])) else None
        # The POST verdict is Aerie's own and renames the engine's .out files: it keeps the
        # engine's rights (as when it runs inline); every other script is isolated.
        verdict = proc.is_job_wrapper(Path(argv[0])) and argv[1:2] == ["exitcode"]
        identity = None if verdict else self.identity
        if inprocess is not None and self.starters is not None:
            # Off the engine's core: a starter runs the wrapper's main for the script.
            request = Request("script", argv, self.engine_env, node_dir)
            pid = self._send_to_starter(request, [], identity)
            if pid is not None:
                self.running[pid] = Running(
                    kind, node.name, time.time(), run.cluster, via_starter=True
                )
                return
        if (
            inprocess is not None
            and kind == "post"
            and self.cfg.inline_post
            and argv[1:2] == ["exitcode"]
        ):
            # The POST verdict only reads the job's .out and appends one log line: running it
            # in the engine saves a process (a third of a wrapped job's cost) per job.
            value = proc.call_inline(inprocess, argv, node_dir)
            self.post_running -= 1
            self._script_done(run, kind, value, None, time.time())
            return
        try:
            pid, error_fd = proc.spawn(
                argv, self.engine_env, node_dir, None, None, None, inprocess, identity
            )
        except proc.SetupError as exc:
            self.out.line(
                f"ERROR: {kind.upper()} script of node {node.name} failed to start: {exc}"
            )
            if kind == "pre":
                self.pre_running -= 1
            else:
                self.post_running -= 1
            self._script_done(run, kind, 127, None, time.time())
            return
        self.reaper.add(pid)
        self.running[pid] = Running(kind, node.name, time.time(), run.cluster, error_fd=error_fd)
        self._record_pid(pid)

    def _script_executable(self, executable: str, node_dir: Path) -> str:
        if "/" in executable:
            return str(self._path(executable, node_dir))
        local = node_dir / executable
        if local.exists():
            return str(local)
        return shutil.which(executable) or executable

    def _script_macro(self, arg: str, run: NodeRun, kind: str) -> str:
        if not arg.startswith("$"):
            return arg
        name = arg[1:]
        node = run.node
        values: dict[str, str] = {
            "JOB": node.name,
            "NODE": node.name,
            "RETRY": str(run.retry),
            "MAX_RETRIES": str(node.retries),
            "NODE_COUNT": str(len(self.runs)),
            "QUEUED_COUNT": str(self.counts[SUBMITTED]),
            "DONE_COUNT": str(self.counts[DONE]),
            "FAILED_COUNT": str(self.counts[ERROR]),
            "FUTILE_COUNT": str(self.counts[FUTILE]),
            "DAGID": self.dagman_id.split(".")[0],
            "DAG_STATUS": str(self.dag_status),
        }
        if kind == "post":
            ret = run.job_return if run.job_return is not None else 0
            values.update(
                JOBID=f"{run.cluster or 0}.0",
                CLUSTERID=str(run.cluster or 0),
                JOB_COUNT="1" if run.cluster else "0",
                JOB_ABORT_COUNT="1" if ret == RETURN_REMOVED else "0",
                SUCCESS="True" if ret == 0 else "False",
                RETURN=str(ret),
                EXIT_CODES=str(ret),
                EXIT_CODE_LIST=str(ret),
                EXIT_CODE_COUNTS=f"{ret}:1",
                PRE_SCRIPT_RETURN=str(run.pre_return if run.pre_return is not None else -1),
            )
        return values.get(name, arg)

    def _start_posts(self) -> None:
        while self.post_waiting and (
            not self.cfg.max_post or self.post_running < self.cfg.max_post
        ):
            run = self.runs[self.post_waiting.popleft()]
            assert run.node.post is not None
            self._start_script(run, run.node.post, "post")

    def _start_final(self) -> bool:
        """Start the FINAL node once the rest is over; False when there is nothing left."""
        name = self.dag.final
        if name is None or self.final_started or self.stop_signal is not None:
            return False
        self.final_started = True
        run = self.runs[name]
        if run.status == DONE:
            return False
        self._update_dag_status()
        self.out.line(f"Starting final node {name}...")
        self._push_ready(run)
        self._start_ready()
        return True

    # ------------------------------------------------------------------ endings
    def _handle_exit(self, ended: proc.Exit | Finished) -> None:
        """A process ended, or a starter finished a job or script for us."""
        finished = ended if isinstance(ended, Finished) else None
        exited = ended.exit if isinstance(ended, Finished) else ended
        running = self.running.pop(exited.pid)
        run = self.runs[running.name]
        setup_error = proc.read_setup_error(running.error_fd) if running.error_fd >= 0 else None
        running.error_fd = -1
        if setup_error is not None and running.kind != "job":
            self.out.line(
                f"ERROR: {running.kind.upper()} script of node {run.node.name} failed to start: "
                f"{setup_error}"
            )
        if running.kind != "job":
            if running.kind == "pre":
                self.pre_running -= 1
            else:
                self.post_running -= 1
            self._script_done(run, running.kind, exited.value, exited.signal, time.time())
        elif setup_error is not None:
            # HTCondor would hold a job whose files cannot be opened or program not started.
            self._release(running)
            self._held_and_removed(run, running, f"Error from starter: {setup_error}", 6, 0)
        else:
            self._job_exited(run, running, exited, finished)

    def _release(self, running: Running) -> None:
        spec = running.spec
        self.jobs_running -= 1
        if spec is not None and spec.uses_slot:
            self.free_cpus += spec.request_cpus
            self.free_memory += spec.request_memory_mb
            self.free_gpus += spec.request_gpus
        else:
            self.local_running -= 1
        category = running.category
        if category is not None:
            self.category_running[category] -= 1
            waiting = self.category_waiting.get(category)
            if waiting:
                heapq.heappush(self.ready, waiting.popleft())

    def _job_exited(
        self, run: NodeRun, running: Running, exited: proc.Exit, finished: Finished | None = None
    ) -> None:
        self._release(running)
        spec = running.spec
        assert spec is not None and running.cluster is not None
        cluster = running.cluster
        bytes_out = 0
        failure: TransferError | None = None
        if running.via_starter:
            # The starter staged the outputs out (or died: then there is nothing to stage).
            if finished is not None:
                bytes_out, failure = finished.bytes_out, finished.transfer_error
            if running.scratch is not None:
                clean = finished is not None and finished.scratch_clean
                self._return_scratch(running.scratch, clean=clean)
        elif running.scratch is not None:
            try:
                if spec.transfer and exited.signal is None:
                    with isolation.acting_as(self.identity):
                        bytes_out = transfer_outputs(spec, running.scratch, running.inputs)
            except TransferError as exc:
                failure = exc
            finally:
                self._return_scratch(running.scratch)
        now = time.time()
        node = run.node.name
        if failure is not None:
            self._held_and_removed(run, running, failure.reason, failure.code, failure.subcode)
            return
        resources = None
        if spec.uses_slot:
            resources = Resources(
                cpus=spec.request_cpus,
                memory_mb=spec.request_memory_mb,
                gpus=spec.request_gpus,
                memory_usage_mb=(exited.max_rss_kb + 1023) // 1024,
            )
        usage = Usage(exited.user_cpu, exited.system_cpu)
        for log in self._logs_for(spec):
            if exited.max_rss_kb:
                log.image_size(cluster, now, exited.max_rss_kb)
            log.terminated(
                cluster,
                now,
                exited.code,
                exited.signal,
                usage,
                resources,
                bytes_sent=bytes_out,
                bytes_received=running.bytes_in,
            )
        self.out.event(5, node, cluster, now)
        self._jobstate(run, "JOB_TERMINATED", f"{cluster}.0", now)
        value = exited.value
        if exited.signal is not None:
            self.out.line(
                f"Node {node} job proc ({cluster}.0.0) failed with signal {exited.signal}."
            )
        elif value == 0:
            self.out.line(f"Node {node} job proc ({cluster}.0.0) completed successfully.")
        else:
            self.out.line(f"Node {node} job proc ({cluster}.0.0) failed with status {value}.")
        self.out.line(f"Node {node} job completed")
        self._jobstate(run, "JOB_SUCCESS" if value == 0 else "JOB_FAILURE", str(value), now)
        self._after_job(run, value)

    def _held_and_removed(
        self,
        run: NodeRun,
        running: Running,
        reason: str,
        code: int,
        subcode: int,
        release: bool = False,
    ) -> None:
        """A job HTCondor would hold: report the hold, remove it, and fail the attempt.

        `release` is set when the failure came after `_submit` took the job's resources but
        before a process existed to give them back on exit.
        """
        if release:
            self._release(running)
        if running.scratch is not None:
            self._return_scratch(running.scratch)
        cluster = running.cluster or 0
        now = time.time()
        for log in self._logs_for(running.spec):
            log.held(cluster, now, reason, code, subcode)
            log.aborted(cluster, now, f"Job removed by the local engine: held: {reason}")
        self.out.event(12, run.node.name, cluster, now)
        self.out.line(f"Node {run.node.name} job proc ({cluster}.0.0) held: {reason}")
        self.out.event(9, run.node.name, cluster, now)
        self._jobstate(run, "JOB_HELD", f"{cluster}.0", now)
        self._jobstate(run, "JOB_ABORTED", f"{cluster}.0", now)
        self._jobstate(run, "JOB_FAILURE", str(RETURN_REMOVED), now)
        self._after_job(run, RETURN_REMOVED)

    def _submit_failed(self, run: NodeRun, reason: str) -> None:
        self.out.line(f"ERROR: submit of node {run.node.name} failed: {reason}")
        if run.node.pre is None:
            self._new_attempt(run)
        self._jobstate(run, "SUBMIT_FAILURE", "-")
        self._after_job(run, RETURN_SUBMIT_FAILED)

    def _never_fits(self, run: NodeRun, spec: JobSpec) -> None:
        reason = (
            f"request (cpus={spec.request_cpus}, memory={spec.request_memory_mb} MB, "
            f"gpus={spec.request_gpus}) exceeds this host's capacity (cpus={self.cfg.cpus}, "
            f"memory={self.cfg.memory_mb} MB, gpus={self.cfg.gpus})"
        )
        cluster = self.next_cluster
        self.next_cluster += 1
        run.cluster = cluster
        if run.node.pre is None:
            self._new_attempt(run)
        now = time.time()
        for log in self._logs_for(spec):
            log.submit(cluster, now, run.node.name, spec.notes)
        self._jobstate(run, "SUBMIT", f"{cluster}.0", now)
        running = Running("job", run.node.name, now, cluster, spec)
        self._held_and_removed(run, running, reason, 21, 0)

    def _job_skipped(self, run: NodeRun) -> None:
        """NOOP node: the job is never submitted and counts as having exited 0."""
        if run.node.pre is None:
            self._new_attempt(run)
        self._after_job(run, 0)

    def _after_job(self, run: NodeRun, value: int) -> None:
        run.job_return = value
        node = run.node
        if node.post is not None:
            self._set_status(run, POSTRUN, "waiting for POST")
            self.post_waiting.append(node.name)
            return
        if self._check_abort(run, value):
            return
        self._node_result(run, value)

    def _script_done(
        self, run: NodeRun, kind: str, value: int, sig: int | None, now: float
    ) -> None:
        node = run.node
        script = node.pre if kind == "pre" else node.post
        if script is not None and script.defer_status is not None and value == script.defer_status:
            self.out.line(
                f"{kind.upper()} script of node {node.name} deferred for {script.defer_seconds} s"
            )
            heapq.heappush(self.timers, (now + script.defer_seconds, id(run), kind, node.name))
            self._set_status(run, PRERUN if kind == "pre" else POSTRUN, "deferred")
            return
        if kind == "pre":
            run.pre_return = value
            ok = value == 0
            self._jobstate(run, "PRE_SCRIPT_SUCCESS" if ok else "PRE_SCRIPT_FAILURE", str(value))
            if ok:
                self.out.line(f"PRE Script of node {node.name} completed successfully.")
                run.pre_done = True
                self._push_ready(run)
                return
            self.out.line(f"PRE Script of node {node.name} failed with status {value}")
            if node.pre_skip is not None and value == node.pre_skip:
                self.out.line(f"PRE_SKIP: node {node.name} skipped (exit {value})")
                self._node_result(run, 0)
                return
            if self._check_abort(run, value):
                return
            if self.cfg.always_run_post and node.post is not None:
                run.job_return = RETURN_PRE_FAILED
                self._set_status(run, POSTRUN, "waiting for POST")
                self.post_waiting.append(node.name)
                return
            self._node_result(run, value)
            return
        cluster = run.cluster or 0
        if run.cluster is not None:
            self.nodes_log.post_script_terminated(
                cluster, now, node.name, value if sig is None else None, sig
            )
            self.out.event(16, node.name, cluster, now)
        self._jobstate(run, "POST_SCRIPT_TERMINATED", f"{cluster}.0", now)
        ok = value == 0
        self._jobstate(run, "POST_SCRIPT_SUCCESS" if ok else "POST_SCRIPT_FAILURE", str(value), now)
        if ok:
            self.out.line(f"POST Script of node {node.name} completed successfully.")
        else:
            self.out.line(f"POST Script of node {node.name} failed with status {value}")
        if self._check_abort(run, value):
            return
        self._node_result(run, value)

    def _check_abort(self, run: NodeRun, value: int) -> bool:
        node = run.node
        if node.abort_value is None or value != node.abort_value or self.abort is not None:
            return False
        status = node.abort_return if node.abort_return is not None else value
        self.out.line(
            f"Aborting DAG because we got the ABORT exit value from a {node.name} node "
            f"(value {value}, DAG exit {status})"
        )
        self._set_status(run, ERROR, f"aborted the DAG with {value}")
        self.abort = (node.name, status)
        self.dag_status = DAG_STATUS_ABORT
        self._remove_all(f"Removed by DAGMan: ABORT-DAG-ON node {node.name} returned {value}")
        self._mark_futile(run)
        return True

    def _node_result(self, run: NodeRun, value: int) -> None:
        node = run.node
        if value == 0:
            self._set_status(run, DONE)
            for child in node.children:
                crun = self.runs[child]
                crun.waiting_parents -= 1
                if crun.waiting_parents == 0 and crun.status == NOT_READY:
                    self._push_ready(crun)
            return
        unless = node.retry_unless_exit
        if run.retry < node.retries and not (unless is not None and value == unless):
            run.retry += 1
            run.pre_done = False
            run.job_return = None
            run.pre_return = None
            self.out.line(f"Retrying node {node.name} (retry #{run.retry} of {node.retries})...")
            self._push_ready(run)
            return
        self._set_status(run, ERROR, f"failed with status {value}")
        run.job_return = value if run.job_return is None else run.job_return
        self.out.line(
            f"ERROR: node {node.name} failed with value {value} after {run.retry} retries"
        )
        if self.dag_status == DAG_STATUS_OK:
            self.dag_status = DAG_STATUS_NODE_FAILED
        self._mark_futile(run)

    def _mark_futile(self, run: NodeRun) -> None:
        stack = list(run.node.children)
        while stack:
            crun = self.runs[stack.pop()]
            if crun.status in (NOT_READY, READY):
                self._set_status(crun, FUTILE)
                stack.extend(crun.node.children)

    # ------------------------------------------------------------------ stopping
    def _remove_all(self, reason: str) -> None:
        """Kill every running job and script (SIGTERM, then SIGKILL after the grace period)."""
        self.ready.clear()
        self.post_waiting.clear()
        self.timers.clear()
        for waiting in self.category_waiting.values():
            waiting.clear()
        if not self.running:
            return
        for pid in list(self.running):
            proc.kill_group(pid, signal.SIGTERM)
        deadline = time.time() + self.cfg.kill_grace_seconds
        while self.running:
            remaining = deadline - time.time()
            if remaining <= 0:
                for pid in list(self.running):
                    proc.kill_group(pid, signal.SIGKILL)
                remaining = 1.0
                deadline = time.time() + 30
            for event in self.reaper.wait(min(remaining, 0.2)):
                if isinstance(event, Started):
                    continue  # too late: it is being removed
                self._starter_bookkeeping(event)
                if event.pid in self.running:
                    self._killed(event, reason)
        self._flush()

    def _killed(self, exited: proc.Exit | Held | Finished, reason: str) -> None:
        running = self.running.pop(exited.pid)
        run = self.runs[running.name]
        now = time.time()
        if running.error_fd >= 0:
            os.close(running.error_fd)
        if running.kind == "job":
            self._release(running)
            if running.scratch is not None:
                self._return_scratch(running.scratch)
            cluster = running.cluster or 0
            for log in self._logs_for(running.spec):
                log.aborted(cluster, now, reason)
            self.out.event(9, run.node.name, cluster, now)
            self._jobstate(run, "JOB_ABORTED", f"{cluster}.0", now)
        elif running.kind == "pre":
            self.pre_running -= 1
        else:
            self.post_running -= 1
        if run.status not in (DONE, ERROR):
            self._set_status(run, READY if run.status != NOT_READY else NOT_READY, "removed")

    def _stop_removed(self) -> RunResult:
        signame = signal.Signals(self.stop_signal or signal.SIGTERM).name
        self.out.line(f"Received {signame}: removing the DAG (condor_rm)")
        reason = f"via condor_rm (by user {self.cfg.user})"
        self.dag_status = DAG_STATUS_RM
        self._remove_all(reason)
        if self.dag.final is not None and not self.final_started:
            # DAGMan runs the FINAL node after condor_rm too (with $DAG_STATUS 4); a second
            # signal removes it as well.
            self.stop_signal = None
            if self._start_final():
                self.dag_status = DAG_STATUS_RM
                self._loop()
            if self.stop_signal is not None:
                self._remove_all(reason)
        self.dag_status = DAG_STATUS_RM
        return self._conclude(exit_code=1)

    def _update_dag_status(self) -> None:
        if self.abort is not None:
            self.dag_status = DAG_STATUS_ABORT
        elif any(r.status == ERROR for r in self.runs.values()):
            self.dag_status = DAG_STATUS_NODE_FAILED

    def _finish(self) -> RunResult:
        self._update_dag_status()
        final = self.runs.get(self.dag.final) if self.dag.final else None
        if final is not None and final.status in (DONE, ERROR):
            # The FINAL node's outcome decides the DAG's, overriding failed nodes and
            # ABORT-DAG-ON (DAGMan manual, "FINAL node").
            exit_code = 0 if final.status == DONE else 1
            self.dag_status = DAG_STATUS_OK if final.status == DONE else DAG_STATUS_NODE_FAILED
        elif self.abort is not None:
            exit_code = self.abort[1]
        else:
            unfinished = [
                r for r in self.runs.values() if r.status != DONE and r.node.kind != "final"
            ]
            exit_code = 0 if not unfinished else 1
            if unfinished and self.dag_status == DAG_STATUS_OK:
                self.dag_status = DAG_STATUS_ERROR
        return self._conclude(exit_code)

    def _conclude(self, exit_code: int) -> RunResult:
        failed = [r.node.name for r in self.runs.values() if r.status == ERROR]
        rescue_file = None
        if exit_code != 0:
            if failed:
                self.out.line("ERROR: the following job(s) failed:")
                for name in failed:
                    run = self.runs[name]
                    self.out.line(
                        f"      Node Name: {name}  Node return val: {run.job_return}  "
                        f"Retry: {run.retry}  HTCondor Job ID: ({run.cluster}.0.0)"
                    )
            done = [
                r.node.name
                for r in self.runs.values()
                if r.status == DONE and r.node.kind != "final"
            ]
            rescue_file = write_rescue(
                self.dag_path, len(self.runs), done, failed, max_rescue=self.cfg.max_rescue or 100
            )
            self.out.line(f"Writing Rescue DAG to {rescue_file.name}...")
        self._table(force=True)
        self._write_status_file(time.time(), final=True)
        self._write_metrics(exit_code)
        if self.jobstate is not None:
            self.jobstate.internal(f"DAGMAN_FINISHED {exit_code}")
        if self.starters is not None and self.starters.forked:
            self.out.line(
                f"Starters: {self.starters.forked} forked, {self.starters.served} jobs and "
                "scripts served"
            )
        self.out.line(f"Wrote metrics file {self.dag_path.name}.metrics.")
        self.out.line(
            f"**** aerie_local_engine.{self.dagman_id} (condor_DAGMAN) pid {os.getpid()} "
            f"EXITING WITH STATUS {exit_code}"
        )
        self._flush()
        return RunResult(exit_code, self.dag_status, failed, rescue_file)

    def _write_metrics(self, exit_code: int) -> None:
        end = time.time()
        jobs = [r for r in self.runs.values() if r.node.kind != "subdag"]
        dags = [r for r in self.runs.values() if r.node.kind == "subdag"]
        metrics = {
            "client": "aerie_local_engine",
            "version": "0.1.0",
            "type": "metrics",
            "start_time": round(self.start_time, 3),
            "end_time": round(end, 3),
            "duration": round(end - self.start_time, 3),
            "exitcode": exit_code,
            "dagman_id": self.dagman_id.split(".")[0],
            "parent_dagman_id": os.environ.get("AERIE_PARENT_DAGMAN_ID", ""),
            "rescue_dag_number": self.rescue_number,
            "recovered": self.recovered,
            "pid": os.getpid(),
            "jobs": len(jobs),
            "jobs_failed": sum(1 for r in jobs if r.status == ERROR),
            "jobs_succeeded": sum(1 for r in jobs if r.status == DONE),
            "dag_jobs": len(dags),
            "dag_jobs_failed": sum(1 for r in dags if r.status == ERROR),
            "dag_jobs_succeeded": sum(1 for r in dags if r.status == DONE),
            "total_jobs": len(self.runs),
            "total_jobs_run": self.jobs_run,
            "DagStatus": self.dag_status,
        }
        path = self.dag_path.with_name(self.dag_path.name + ".metrics")
        write_atomically(path, json.dumps(metrics, indent=4) + "\n")

    def _close(self) -> None:
        for scratch in self.scratch_pool:
            remove_scratch(scratch)
        self.scratch_pool.clear()
        if self.starters is not None:
            self.starters.close()
        self.reaper.close()
        self.nodes_log.close()
        for writer in self.extra_logs.values():
            writer.close()
        if self.jobstate is not None:
            self.jobstate.close()
        self.out.close()
        if self.procs_file is not None:
            self.procs_file.close()
