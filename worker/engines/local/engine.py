"""`LocalEngine`: the Engine contract over detached `python -m worker.engines.local` processes.

The engine process is started in its own session (it must outlive the Celery task or CLI that
started it, and `aerie remove` must not reach the caller), with stdout/stderr appended to
`<dag>.lib.out` / `<dag>.lib.err` as DAGMan's are. Everything `poll` needs is on disk: the
lock file while it runs, `<dag>.metrics` (with the engine's pid) once it concluded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from worker.engines.base import Engine, EngineError, EngineHandle, EngineStatus, RunState, find_dag
from worker.engines.local import process as proc
from worker.engines.local import recovery
from worker.engines.local.config import EngineConfig
from worker.engines.local.rescue import newest_rescue
from worker.engines.local.runner import read_lock

STATUS_REMOVED = 4
STARTUP_TIMEOUT = 30.0


class LocalEngine(Engine):
    name = "local"

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()

    def submit(self, submit_dir: Path, *, force: bool = False) -> EngineHandle:
        submit_dir = Path(submit_dir).resolve()
        dag = find_dag(submit_dir)
        lock = read_lock(dag)
        if lock is not None and lock.alive():
            raise EngineError(f"{dag.name} is already being run by engine pid {lock.pid}")
        argv = [sys.executable, "-m", "worker.engines.local", "run", str(dag)]
        argv += self.config.to_args()
        if force:
            argv.append("--force")
        out = open(dag.with_name(dag.name + ".lib.out"), "ab")  # noqa: SIM115
        err = open(dag.with_name(dag.name + ".lib.err"), "ab")  # noqa: SIM115
        try:
            child = subprocess.Popen(
                argv,
                cwd=dag.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise EngineError(f"cannot start the local engine: {exc}") from exc
        finally:
            out.close()
            err.close()
        start = proc.process_start_time(child.pid)
        self._wait_started(child, dag)
        return EngineHandle(
            engine=self.name,
            submit_dir=str(submit_dir),
            dag_file=str(dag),
            job_id=str(child.pid),
            started=time.time(),
            extra={"start_time": str(start), "boot_id": proc.boot_id()},
        )

    def _wait_started(self, child: subprocess.Popen[bytes], dag: Path) -> None:
        """Return once the engine holds the DAG's lock, so two submits cannot race and a DAG
        that does not parse is reported here rather than by a later poll."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            lock = read_lock(dag)
            if lock is not None and lock.pid == child.pid:
                return
            code = child.poll()
            if code is not None:
                if code == 0:
                    return  # finished already (an empty or all-DONE DAG)
                err = dag.with_name(dag.name + ".lib.err")
                lines = err.read_text(errors="replace").strip().splitlines() if err.exists() else []
                reason = lines[-1] if lines else f"exit status {code}"
                raise EngineError(f"the local engine did not start: {reason}")
            time.sleep(0.02)
        raise EngineError(f"the local engine did not start within {STARTUP_TIMEOUT:.0f} s")

    def poll(self, handle: EngineHandle) -> EngineStatus:
        dag = Path(handle.dag_file)
        pid = int(handle.job_id)
        start = handle.extra.get("start_time")
        _reap_if_child(pid)
        same_boot = handle.extra.get("boot_id", proc.boot_id()) == proc.boot_id()
        start_time = int(start) if start and start != "None" else None
        if same_boot and recovery.is_alive(pid, start_time):
            return EngineStatus(RunState.RUNNING, detail=f"engine pid {pid}")
        metrics = _read_metrics(dag)
        if metrics is not None and metrics.get("pid") == pid:
            exit_code = int(metrics.get("exitcode", 1))
            dag_status = int(metrics.get("DagStatus", 1))
            rescue = newest_rescue(dag)
            rescue_file = str(rescue[1]) if rescue and exit_code != 0 else None
            if exit_code == 0:
                state = RunState.SUCCEEDED
            elif dag_status == STATUS_REMOVED:
                state = RunState.REMOVED
            else:
                state = RunState.FAILED
            detail = f"{metrics.get('jobs_failed', 0)} of {metrics.get('jobs', 0)} nodes failed"
            return EngineStatus(state, exit_code, dag_status, detail, rescue_file)
        lock = read_lock(dag)
        if lock is not None and lock.alive():
            return EngineStatus(RunState.RUNNING, detail=f"engine pid {lock.pid}")
        return EngineStatus(
            RunState.LOST, detail=f"engine pid {pid} ended without writing {dag.name}.metrics"
        )

    def remove(self, handle: EngineHandle) -> None:
        dag = Path(handle.dag_file)
        pids = set()
        status = self.poll(handle)
        if status.state == RunState.RUNNING:
            pids.add(int(handle.job_id))
        lock = read_lock(dag)
        if lock is not None and lock.alive():
            pids.add(lock.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def resume(self, handle: EngineHandle) -> EngineHandle:
        status = self.poll(handle)
        if status.state == RunState.RUNNING:
            return handle
        if status.state == RunState.SUCCEEDED:
            raise EngineError("the run already succeeded; nothing to resume")
        return self.submit(Path(handle.submit_dir))


def _read_metrics(dag: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(dag.with_name(dag.name + ".metrics").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _reap_if_child(pid: int) -> None:
    """Collect the exit status when the caller happens to be the engine's parent, so a
    finished engine does not linger as a zombie that looks alive."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
