"""Stopping short and carrying on: rescue after failure, `remove` (SIGTERM) and a SIGKILLed
engine. In every case the nodes that finished are never run again (counted from the side
effects the jobs leave) and the run completes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import htcondor2
import pytest

from tests.worker.engines.conftest import DagDir
from worker.engines.local.config import EngineConfig
from worker.engines.local.runner import read_lock, run

E = htcondor2.JobEventType


def start_engine(dag: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "worker.engines.local", "run", str(dag), "--cpus", "4", *args],
        cwd=dag.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def chain_dag(d: DagDir, pause: float, count: int = 6) -> Path:
    """n0 -> n1 -> ... each sleeping `pause` seconds; n3 fans out to two branches."""
    lines = []
    for i in range(count):
        d.sub(f"n{i}.sub", f"n{i} {d.root} 0 {pause}")
        lines.append(f"JOB n{i} n{i}.sub")
    for i in range(count - 1):
        lines.append(f"PARENT n{i} CHILD n{i + 1}")
    lines.append("JOBSTATE_LOG jobstate.log")
    return d.dag("\n".join(lines) + "\n")


def test_rescue_after_failure_skips_finished_nodes(
    dagdir: DagDir, engine_config: EngineConfig
) -> None:
    d = dagdir
    gate = d.root / "gate"
    (d.root / "gated.sh").write_text(f"#!/bin/sh\n{d.script} gated {d.root}\ntest -e {gate}\n")
    (d.root / "gated.sh").chmod(0o755)
    (d.root / "gated.sub").write_text(f"universe = local\nexecutable = {d.root}/gated.sh\nqueue\n")
    for n in ("A", "B", "C", "Z"):
        d.sub(f"{n}.sub", f"{n} {d.root}")
    dag = d.dag(
        "JOB A A.sub\nJOB B B.sub\nJOB gated gated.sub\nJOB C C.sub\nJOB Z Z.sub\n"
        "PARENT A CHILD B gated\nPARENT gated CHILD C\nPARENT B C CHILD Z\n"
    )
    first = run(dag, engine_config)
    assert first.exit_code == 1 and first.failed == ["gated"]
    assert sorted(d.starts()) == ["A", "B", "gated"]
    gate.touch()  # fix the cause, then run the same DAG again: AutoRescue applies rescue001
    second = run(dag, engine_config)
    assert second.exit_code == 0
    assert d.starts().count("A") == 1 and d.starts().count("B") == 1, "finished nodes not re-run"
    assert d.starts().count("gated") == 2 and d.starts()[-2:] == ["C", "Z"]
    assert not (d.root / "test.dag.rescue002").exists()
    clusters = [
        ev.cluster
        for ev in htcondor2.JobEventLog(str(dag) + ".nodes.log").events(0)
        if ev.type == E.SUBMIT
    ]
    assert clusters == sorted(set(clusters)), "cluster ids keep increasing across runs"
    metrics = json.loads((d.root / "test.dag.metrics").read_text())
    assert metrics["rescue_dag_number"] == 1


def test_force_ignores_rescue_files(dagdir: DagDir, engine_config: EngineConfig) -> None:
    d = dagdir
    d.sub("A.sub", f"A {d.root}")
    d.sub("B.sub", f"B {d.root} 1")
    dag = d.dag("JOB A A.sub\nJOB B B.sub\nPARENT A CHILD B\n")
    assert run(dag, engine_config).exit_code == 1
    assert run(dag, engine_config, force=True).exit_code == 0
    assert d.starts() == ["A", "B", "A", "B"]
    assert (d.root / "test.dag.rescue001.old").exists()


@pytest.mark.slow
def test_sigterm_removes_jobs_writes_rescue_and_resume_completes(dagdir: DagDir) -> None:
    d = dagdir
    dag = chain_dag(d, pause=0.6)
    engine = start_engine(dag)
    wait_for(lambda: "n2" in d.starts())
    os.kill(engine.pid, signal.SIGTERM)
    assert engine.wait(timeout=20) == 1
    started = d.starts()
    assert started == ["n0", "n1", "n2"]
    evs = list(htcondor2.JobEventLog(str(dag) + ".nodes.log").events(0))
    aborted = [ev for ev in evs if ev.type == E.JOB_ABORTED]
    assert len(aborted) == 1 and aborted[0]["Reason"].startswith("via condor_rm")
    rescue = (d.root / "test.dag.rescue001").read_text()
    assert "DONE n0" in rescue and "DONE n1" in rescue and "DONE n2" not in rescue
    assert json.loads((d.root / "test.dag.metrics").read_text())["DagStatus"] == 4
    assert read_lock(dag) is None
    resumed = start_engine(dag)
    assert resumed.wait(timeout=30) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert d.starts() == ["n0", "n1", "n2", "n2", "n3", "n4", "n5"]


@pytest.mark.slow
def test_sigkill_of_the_engine_recovers_without_rerunning_finished_nodes(
    dagdir: DagDir,
) -> None:
    d = dagdir
    dag = chain_dag(d, pause=0.8)
    # A sibling that sleeps for a minute on its first run: the dead engine leaves it orphaned.
    orphan = d.root / "orphan.sh"
    orphan.write_text(
        f"#!/bin/sh\n{d.script} orphan {d.root}\n"
        f"if [ ! -e {d.root}/orphan.pid ]; then echo $$ > {d.root}/orphan.pid; sleep 60; fi\n"
    )
    orphan.chmod(0o755)
    (d.root / "orphan.sub").write_text(f"universe = local\nexecutable = {orphan}\nqueue\n")
    dag.write_text(dag.read_text() + "JOB orphan orphan.sub\n")
    engine = start_engine(dag)
    wait_for(lambda: "n2" in d.starts() and (d.root / "orphan.pid").exists())
    time.sleep(0.2)
    os.kill(engine.pid, signal.SIGKILL)
    engine.wait(timeout=10)
    orphan_pid = int((d.root / "orphan.pid").read_text())
    assert Path(f"/proc/{orphan_pid}").exists(), "the orphan outlives the killed engine"
    lock = read_lock(dag)
    assert lock is not None and not lock.alive(), "the lock of a dead engine stays behind"
    done_before = [n for n, what, _ in d.events() if what == "end"]
    assert sorted(done_before) == ["n0", "n1", "orphan"]
    recovered = start_engine(dag)
    assert recovered.wait(timeout=40) == 0, recovered.stderr.read() if recovered.stderr else ""
    assert not _alive(orphan_pid), "recovery killed the orphaned job"
    starts = d.starts()
    assert starts.count("n0") == 1 and starts.count("n1") == 1, "finished nodes not re-run"
    assert starts.count("n2") == 2 and starts.count("orphan") == 2
    assert [n for n in starts if n.startswith("n")][-3:] == ["n3", "n4", "n5"]
    evs = list(htcondor2.JobEventLog(str(dag) + ".nodes.log").events(0))
    assert sum(1 for ev in evs if ev.type == E.JOB_TERMINATED) >= 7, "log stays readable"
    metrics = json.loads((d.root / "test.dag.metrics").read_text())
    assert metrics["recovered"] is True and metrics["exitcode"] == 0
    jobstate = (d.root / "jobstate.log").read_text()
    assert "*** RECOVERY_STARTED ***" in jobstate
    assert read_lock(dag) is None


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_second_engine_on_a_running_dag_is_refused(dagdir: DagDir) -> None:
    d = dagdir
    dag = chain_dag(d, pause=0.5, count=2)
    engine = start_engine(dag)
    try:
        wait_for(lambda: read_lock(dag) is not None)
        second = start_engine(dag)
        assert second.wait(timeout=20) == 2
        assert second.stderr is not None and b"already being run by pid" in second.stderr.read()
    finally:
        assert engine.wait(timeout=20) == 0


@pytest.mark.slow
def test_removing_a_dag_removes_its_subdag_and_both_resume(dagdir: DagDir) -> None:
    d = dagdir
    inner = d.root / "inner"
    inner.mkdir()
    gate = d.root / "gate"
    (inner / "i1.sub").write_text(
        f'universe = local\nexecutable = {d.script}\narguments = "i1 {d.root}"\nqueue\n'
    )
    (inner / "i2.sh").write_text(
        f"#!/bin/sh\n{d.script} i2 {d.root}\nwhile [ ! -e {gate} ]; do sleep 0.1; done\n"
    )
    (inner / "i2.sh").chmod(0o755)
    (inner / "i2.sub").write_text(f"universe = local\nexecutable = {inner}/i2.sh\nqueue\n")
    (inner / "inner.dag").write_text("JOB i1 i1.sub\nJOB i2 i2.sub\nPARENT i1 CHILD i2\n")
    d.sub("A.sub", f"A {d.root}")
    d.sub("Z.sub", f"Z {d.root}")
    dag = d.dag(
        "JOB A A.sub\nSUBDAG EXTERNAL S inner.dag DIR inner\nJOB Z Z.sub\n"
        "PARENT A CHILD S\nPARENT S CHILD Z\n"
    )
    engine = start_engine(dag)
    wait_for(lambda: "i2" in d.starts())
    os.kill(engine.pid, signal.SIGTERM)
    assert engine.wait(timeout=30) == 1
    assert (inner / "inner.dag.rescue001").exists(), "the inner engine wrote its own rescue"
    assert "DONE i1" in (inner / "inner.dag.rescue001").read_text()
    assert "DONE A" in (d.root / "test.dag.rescue001").read_text()
    gate.touch()
    resumed = start_engine(dag)
    assert resumed.wait(timeout=60) == 0, resumed.stderr.read() if resumed.stderr else ""
    assert d.starts() == ["A", "i1", "i2", "i2", "Z"]


def test_the_final_node_runs_after_remove(dagdir: DagDir) -> None:
    d = dagdir
    d.sub("slow.sub", f"slow {d.root} 0 30")
    (d.root / "fin.sub").write_text(
        "universe = local\nexecutable = /bin/sh\n"
        f"arguments = \"-c 'echo $(DAG_STATUS) > {d.root}/final.txt'\"\nqueue\n"
    )
    dag = d.dag("JOB slow slow.sub\nFINAL fin fin.sub\n")
    engine = start_engine(dag)
    wait_for(lambda: "slow" in d.starts())
    os.kill(engine.pid, signal.SIGTERM)
    assert engine.wait(timeout=30) == 1
    assert (d.root / "final.txt").read_text().strip() == "4", "FINAL saw DAG_STATUS_RM"
    assert "DONE fin" not in (d.root / "test.dag.rescue001").read_text()
