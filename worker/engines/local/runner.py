"""The long-lived engine process for one DAG: lock, rescue, recovery, then the scheduler.

`run(dag_file)` is what `aerie engine run` and `python -m worker.engines.local run` call. Start
up follows condor_dagman:

* `<dag>.lock` is flock'ed for the engine's lifetime and holds JSON {pid, start_time, boot_id,
  host, log_offset, started}. A lock held by another process means the DAG is already running
  (`EngineBusy`). A lock file with content that nobody holds was left by an engine that died
  (the kernel released its flock): recovery mode (see recovery.py). A clean exit removes it.
* Unless `force`, the newest `<dag>.rescueNNN` is applied (AutoRescue): its DONE nodes do not
  run again. With `force`, rescue files are renamed `.old` and the DAG starts from scratch.
* Cluster ids continue after the highest one in `<dag>.nodes.log`, and the node log, the
  jobstate log and dagman.out are appended to, never truncated (DAGMan truncates its node log
  on a fresh start; we keep it so a monitor's byte cursor stays valid across resumes).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from worker.engines.local import process as proc
from worker.engines.local import recovery
from worker.engines.local.config import EngineConfig
from worker.engines.local.dagfile import Dag, apply_rescue, parse_dag
from worker.engines.local.nodestate import RunResult
from worker.engines.local.rescue import newest_rescue, retire_rescue_files
from worker.engines.local.scheduler import DagRun


class EngineBusy(RuntimeError):
    """Another live engine holds the DAG's lock."""


@dataclass(frozen=True)
class LockInfo:
    pid: int
    start_time: int | None
    boot_id: str
    host: str
    log_offset: int
    started: float

    def alive(self) -> bool:
        return (
            self.host == socket.gethostname()
            and self.boot_id == proc.boot_id()
            and recovery.is_alive(self.pid, self.start_time)
        )


def lock_path(dag_file: Path) -> Path:
    return dag_file.with_name(dag_file.name + ".lock")


def read_lock(dag_file: Path) -> LockInfo | None:
    path = lock_path(dag_file)
    try:
        data = json.loads(path.read_text())
        return LockInfo(
            pid=int(data["pid"]),
            start_time=data.get("start_time"),
            boot_id=str(data.get("boot_id", "")),
            host=str(data.get("host", "")),
            log_offset=int(data.get("log_offset", 0)),
            started=float(data.get("started", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run(
    dag_file: Path | str,
    config: EngineConfig | None = None,
    *,
    force: bool = False,
    parent_dagman_id: str | None = None,
) -> RunResult:
    """Run the DAG to its end in this process; returns the outcome (exit code, DAG status)."""
    dag_path = Path(dag_file).resolve()
    config = config or EngineConfig()
    dag = parse_dag(dag_path)
    lock_fd = _acquire_lock(dag_path)
    try:
        result = _run_locked(dag_path, dag, config, lock_fd, force, parent_dagman_id)
        # Only a run that concluded removes its lock; after an unexpected error the content
        # stays, so the next start recovers from the node log like after a crash.
        lock_path(dag_path).unlink(missing_ok=True)
        return result
    finally:
        proc.CLOSE_IN_CHILD.discard(lock_fd)
        os.close(lock_fd)


def _acquire_lock(dag_path: Path) -> int:
    """Open and flock `<dag>.lock`; the kernel drops the flock when this process dies, so
    a lock file that can be locked but still has content was left by a dead engine."""
    path = lock_path(dag_path)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            old = read_lock(dag_path)
            holder = f"pid {old.pid}" if old is not None else "another engine"
            raise EngineBusy(f"{dag_path.name} is already being run by {holder}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            proc.CLOSE_IN_CHILD.add(fd)
            return fd
        os.close(fd)  # the previous holder removed the file meanwhile: lock the new one


def _run_locked(
    dag_path: Path,
    dag: Dag,
    config: EngineConfig,
    lock_fd: int,
    force: bool,
    parent_dagman_id: str | None,
) -> RunResult:
    nodes_log = dag_path.with_name(dag_path.name + ".nodes.log")
    procs_file = dag_path.with_name(dag_path.name + ".procs")
    content = os.pread(lock_fd, 65536, 0)
    old = read_lock(dag_path) if content.strip() else None
    recovering = bool(content.strip())

    if recovering:
        recovery.kill_orphans(
            procs_file,
            same_boot=old is not None and old.boot_id == proc.boot_id(),
            grace_seconds=config.kill_grace_seconds,
        )
    recovery.truncate_partial_events(nodes_log)
    if dag.jobstate_log:
        jobstate = Path(dag.jobstate_log)
        if not jobstate.is_absolute():
            jobstate = dag_path.parent / jobstate
        recovery.truncate_partial_line(jobstate)

    rescue_number = 0
    if force:
        retire_rescue_files(dag_path)
    else:
        newest = newest_rescue(dag_path)
        if newest is not None:
            rescue_number = newest[0]
            apply_rescue(dag, newest[1])

    log_offset = nodes_log.stat().st_size if nodes_log.exists() else 0
    retries_used: dict[str, int] = {}
    if recovering and old is not None:
        log_offset = min(old.log_offset, log_offset)
        has_post = {name: node.post is not None for name, node in dag.nodes.items()}
        for name, outcome in recovery.replay(nodes_log, old.log_offset, has_post).items():
            node = dag.nodes.get(name)
            if node is None:
                continue
            if outcome.state == "done":
                node.done = True
            elif outcome.failures:
                retries_used[name] = outcome.failures

    me = os.getpid()
    info = LockInfo(
        pid=me,
        start_time=proc.process_start_time(me),
        boot_id=proc.boot_id(),
        host=socket.gethostname(),
        log_offset=log_offset,
        started=time.time(),
    )
    data = (json.dumps(info.__dict__) + "\n").encode()
    os.ftruncate(lock_fd, 0)
    os.pwrite(lock_fd, data, 0)
    if not recovering:
        procs_file.unlink(missing_ok=True)
    if parent_dagman_id:
        os.environ["AERIE_PARENT_DAGMAN_ID"] = parent_dagman_id
    scheduler = DagRun(
        dag,
        config,
        first_cluster=recovery.max_cluster(nodes_log) + 1,
        rescue_number=rescue_number,
        procs_file=procs_file,
        recovered=recovering,
        retries_used=retries_used,
    )
    if recovering and scheduler.jobstate is not None:
        scheduler.jobstate.internal("RECOVERY_STARTED")
        scheduler.jobstate.internal("RECOVERY_FINISHED")
    if recovering:
        scheduler.out.line("Lock file found with a dead engine: running in recovery mode")
    result = scheduler.run()
    procs_file.unlink(missing_ok=True)
    return result
