"""`HTCondorEngine`: submit the planned DAG to a real schedd as a DAGMan job.

This is the only module that talks to HTCondor daemons. `Submit.from_dag` runs in a child
process (htcondor SPEC §1.9: a C++ EXCEPT inside it can kill the interpreter) with the DAG's
directory as working directory; it writes `<dag>.condor.sub`, which this process submits with
`Schedd.submit`. `UpdateSubmit` (not `Force`) is used so a resubmission picks up the newest
rescue DAG, exactly like `pegasus-run`. Without a reachable schedd every call fails at once
with an `EngineError` that carries HTCondor's own message.

Which schedd: by default the local one (HTCondor's own configuration on this host). A worker in
another container or host names the pool's collector (`pool=` or `AERIE_CONDOR_POOL`) and, if
the pool has several schedds, the schedd (`schedd_name=` or `AERIE_CONDOR_SCHEDD`); the submit
directory must then be at the same path on the schedd's host (docs/htcondor.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from worker.engines.base import Engine, EngineError, EngineHandle, EngineStatus, RunState, find_dag
from worker.engines.local.rescue import newest_rescue

DEFAULT_DAGMAN = "/usr/bin/condor_dagman"

_FROM_DAG = """
import json, sys
import htcondor2
dag, options = sys.argv[1], json.loads(sys.argv[2])
htcondor2.Submit.from_dag(dag, options)
"""

# JobStatus codes
_IDLE, _RUNNING, _REMOVED, _COMPLETED, _HELD = 1, 2, 3, 4, 5


def write_condor_submit(
    dag: Path, dagman_path: str | None = None, force: bool = False, batch_name: str | None = None
) -> Path:
    """Write `<dag>.condor.sub` with `Submit.from_dag` in a child process; returns its path."""
    options: dict[str, Any] = {
        "DagmanPath": dagman_path or os.environ.get("AERIE_CONDOR_DAGMAN", DEFAULT_DAGMAN),
        "AutoRescue": 1,
    }
    if force:
        options["Force"] = True
    else:
        options["UpdateSubmit"] = True
    if batch_name:
        options["BatchName"] = batch_name
    result = subprocess.run(
        [sys.executable, "-c", _FROM_DAG, dag.name, json.dumps(options)],
        cwd=dag.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        message = lines[-1] if lines else f"exit status {result.returncode}"
        raise EngineError(f"Submit.from_dag failed for {dag}: {message}")
    return dag.with_name(dag.name + ".condor.sub")


class HTCondorEngine(Engine):
    name = "htcondor"

    def __init__(
        self,
        dagman_path: str | None = None,
        schedd_ad: Any = None,
        pool: str | None = None,
        schedd_name: str | None = None,
    ) -> None:
        self.dagman_path = dagman_path
        self.schedd_ad = schedd_ad
        self.pool = pool or os.environ.get("AERIE_CONDOR_POOL") or None
        self.schedd_name = schedd_name or os.environ.get("AERIE_CONDOR_SCHEDD") or None

    def _schedd(self) -> Any:
        import htcondor2

        try:
            if self.schedd_ad:
                return htcondor2.Schedd(self.schedd_ad)
            if self.pool or self.schedd_name:
                return htcondor2.Schedd(self._locate(htcondor2))
            return htcondor2.Schedd()
        except EngineError:
            raise
        except Exception as exc:  # HTCondorException, KeyError for a bad ad
            raise EngineError(f"HTCondor schedd unavailable: {exc}") from exc

    def _locate(self, htcondor2: Any) -> Any:
        """The schedd's location ad from the pool's collector (a schedd on another host)."""
        collector = htcondor2.Collector(self.pool) if self.pool else htcondor2.Collector()
        if self.schedd_name:
            return collector.locate(htcondor2.DaemonType.Schedd, self.schedd_name)
        ads = collector.locateAll(htcondor2.DaemonType.Schedd)
        if len(ads) != 1:
            names = ", ".join(str(ad.get("Name")) for ad in ads) or "none"
            raise EngineError(
                f"HTCondor pool {self.pool} has {len(ads)} schedds ({names}); "
                "set AERIE_CONDOR_SCHEDD to the one to use"
            )
        return ads[0]

    def submit(self, submit_dir: Path, *, force: bool = False) -> EngineHandle:
        import htcondor2

        submit_dir = Path(submit_dir).resolve()
        dag = find_dag(submit_dir)
        schedd = self._schedd()
        running = f'JobUniverse == 7 && Iwd == "{dag.parent}" && JobStatus =!= 3 && JobStatus =!= 4'
        try:
            active = schedd.query(constraint=running, projection=["ClusterId"])
        except Exception as exc:
            raise EngineError(f"HTCondor query failed: {exc}") from exc
        if active:
            cluster = active[0].get("ClusterId")
            raise EngineError(f"{dag.name} is already being run by DAGMan job {cluster}")
        sub_file = write_condor_submit(dag, self.dagman_path, force, batch_name=submit_dir.name)
        description = htcondor2.Submit(sub_file.read_text())
        cwd = os.getcwd()
        try:
            os.chdir(dag.parent)  # relative paths in the .condor.sub are relative to the DAG
            result = schedd.submit(description)
        except Exception as exc:
            raise EngineError(f"HTCondor submit failed: {exc}") from exc
        finally:
            os.chdir(cwd)
        return EngineHandle(
            engine=self.name,
            submit_dir=str(submit_dir),
            dag_file=str(dag),
            job_id=str(result.cluster()),
            started=time.time(),
        )

    def poll(self, handle: EngineHandle) -> EngineStatus:
        schedd = self._schedd()
        constraint = f"ClusterId == {int(handle.job_id)}"
        projection = ["JobStatus", "ExitCode", "HoldReason"]
        try:
            ads = schedd.query(constraint=constraint, projection=projection)
            if not ads:
                ads = list(schedd.history(constraint, projection, match=1))
        except Exception as exc:
            raise EngineError(f"HTCondor query failed: {exc}") from exc
        if not ads:
            return EngineStatus(RunState.LOST, detail=f"DAGMan job {handle.job_id} not found")
        ad = ads[0]
        status = int(ad.get("JobStatus", 0))
        if status in (_IDLE, _RUNNING, _HELD):
            return EngineStatus(RunState.RUNNING, detail=str(ad.get("HoldReason", "")))
        metrics = _metrics(Path(handle.dag_file))
        exit_code = ad.get("ExitCode")
        dag_status = metrics.get("DagStatus") if metrics else None
        rescue = newest_rescue(Path(handle.dag_file))
        rescue_file = str(rescue[1]) if rescue else None
        if status == _REMOVED:
            return EngineStatus(RunState.REMOVED, exit_code, dag_status, "", rescue_file)
        if exit_code == 0:
            return EngineStatus(RunState.SUCCEEDED, 0, dag_status)
        return EngineStatus(RunState.FAILED, exit_code, dag_status, "", rescue_file)

    def remove(self, handle: EngineHandle) -> None:
        import htcondor2

        schedd = self._schedd()
        try:
            schedd.act(htcondor2.JobAction.Remove, f"ClusterId == {int(handle.job_id)}")
        except Exception as exc:
            raise EngineError(f"HTCondor remove failed: {exc}") from exc

    def resume(self, handle: EngineHandle) -> EngineHandle:
        if self.poll(handle).state == RunState.RUNNING:
            return handle
        return self.submit(Path(handle.submit_dir))


def _metrics(dag: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(dag.with_name(dag.name + ".metrics").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
