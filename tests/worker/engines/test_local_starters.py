"""Planned jobs run by long-lived starters (worker/engines/local/starter.py): a few starters
serve many jobs, and what a user sees when a starter's job is removed, when a starter dies,
and when stage-in fails is what HTCondor (and a fork per job) would show."""

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

from planner import PlanOptions, plan, write
from planner.inputs import load_inputs
from worker.engines.local.config import EngineConfig
from worker.engines.local.runner import run
from worker.workspace import install_wrapper

pytestmark = pytest.mark.slow
E = htcondor2.JobEventType


def planned(root: Path, jobs: list[tuple[str, str, list[str]]]) -> Path:
    """Plan independent jobs `(transformation, executable, arguments)` for the local site."""
    root.mkdir(parents=True, exist_ok=True)
    names = sorted({name for name, _, _ in jobs})
    pfns = {name: exe for name, exe, _ in jobs}
    wf = {
        "pegasus": "5.0.4",
        "name": "starters",
        "jobs": [
            {"type": "job", "name": name, "id": f"ID{i:07d}", "arguments": args, "uses": []}
            for i, (name, _, args) in enumerate(jobs, start=1)
        ],
        "jobDependencies": [],
    }
    tc = {
        "pegasus": "5.0.4",
        "transformations": [
            {"name": n, "sites": [{"name": "local", "pfn": pfns[n], "type": "installed"}]}
            for n in names
        ],
    }
    scratch, output = root / "shared-scratch", root / "output"
    sites = {
        "pegasus": "5.0.4",
        "sites": [
            {
                "name": "local",
                "directories": [
                    {
                        "type": "sharedScratch",
                        "path": str(scratch),
                        "fileServers": [{"url": f"file://{scratch}", "operation": "all"}],
                    },
                    {
                        "type": "localStorage",
                        "path": str(output),
                        "fileServers": [{"url": f"file://{output}", "operation": "all"}],
                    },
                ],
            }
        ],
    }
    for name, doc in (("workflow.yml", wf), ("tc.yml", tc), ("sites.yml", sites)):
        (root / name).write_text(json.dumps(doc))
    inputs = load_inputs(
        root / "workflow.yml",
        transformation_catalogs=[root / "tc.yml"],
        site_catalogs=[root / "sites.yml"],
        sites=["local"],
    )
    submit = root / "submit"
    write(plan(inputs, PlanOptions(submit_dir=submit, sites=["local"], cleanup="none")))
    install_wrapper(submit)
    return next(submit.glob("*.dag"))


def events(dag: Path) -> list[htcondor2.JobEvent]:
    return list(htcondor2.JobEventLog(str(dag) + ".nodes.log").events(0))


def dagman_out(dag: Path) -> str:
    return dag.with_name(dag.name + ".dagman.out").read_text()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2 : data.rfind(b")") + 3] not in (b"Z", b"X")


def parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return 0
    return int(stat[stat.rfind(b")") + 2 :].split()[1])


def find_process(argv: list[str], engine: int, timeout: float = 30.0) -> tuple[int, int]:
    """(pid, parent pid) of the process whose command line is exactly `argv` and whose
    parent is a child of `engine` (a starter), not some other test's leftover."""
    wanted = "\0".join(argv).encode() + b"\0"
    deadline = time.time() + timeout
    while time.time() < deadline:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if handle.read() != wanted:
                        continue
            except OSError:
                continue
            starter = parent(int(entry))
            if parent(starter) == engine:
                return int(entry), starter
        time.sleep(0.05)
    raise AssertionError(f"no process {argv} appeared within {timeout} s")


def start_engine(dag: Path, scratch: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "worker.engines.local", "run", str(dag)]
    command += ["--cpus", "2", "--scratch", str(scratch)]
    return subprocess.Popen(command, cwd=dag.parent)


def test_a_few_starters_serve_many_jobs_with_full_provenance(tmp_path: Path) -> None:
    dag = planned(tmp_path / "wf", [("noop", "/bin/true", [])] * 30)
    config = EngineConfig(cpus=2, scratch_root=tmp_path / "scratch", table_interval_seconds=0)
    result = run(dag, config)
    assert result.exit_code == 0, dagman_out(dag)[-3000:]
    out = dagman_out(dag)
    # 31 jobs (30 + create-dir) and 31 POST verdicts, but only a handful of processes forked
    # (two slots, and POSTs that overlap the next jobs).
    line = next(line for line in out.splitlines() if "Starters:" in line)
    forked = int(line.split("Starters:")[1].split()[0])
    served = int(line.split("forked,")[1].split()[0])
    assert 1 <= forked <= 8 and served >= 60, line
    evs = events(dag)
    executes = {ev.cluster for ev in evs if ev.type == E.EXECUTE}
    terminated = [ev for ev in evs if ev.type == E.JOB_TERMINATED]
    assert len(terminated) == 31 and {ev.cluster for ev in terminated} == executes
    assert all(ev["ReturnValue"] == 0 for ev in terminated)
    assert sum(1 for ev in evs if ev.type == E.POST_SCRIPT_TERMINATED) == 30  # compute jobs
    staged = dag.parent / "00" / "00"
    invocations = []
    for path in staged.glob("noop_*.out*"):
        invocations += [json.loads(x) for x in path.read_text().splitlines() if x.startswith("{")]
    assert len(invocations) == 30
    assert all(r["exitcode"] == 0 and r["argv"] == ["/bin/true"] for r in invocations)
    verdicts = dag.with_name(dag.name.replace(".dag", ".exitcode.log")).read_text()
    assert len(verdicts.splitlines()) == 30
    assert list((tmp_path / "scratch").iterdir()) == []
    # Nothing is left running once the engine has returned.
    assert not dag.with_name(dag.name + ".procs").exists()


def test_removing_the_dag_stops_a_job_running_in_a_starter(tmp_path: Path) -> None:
    dag = planned(tmp_path / "wf", [("sleep", "/bin/sleep", ["300"])])
    engine = start_engine(dag, tmp_path / "scratch")
    try:
        task, starter = find_process(["/bin/sleep", "300"], engine.pid)
        assert starter != engine.pid, "the wrapper runs in a starter, not the engine"
        engine.send_signal(signal.SIGTERM)
        assert engine.wait(timeout=30) == 1
    finally:
        engine.kill()
    deadline = time.time() + 10
    while (alive(task) or alive(starter)) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(task), "the task got the removal too"
    assert not alive(starter), "the engine took its starters down with it"
    aborted = [ev for ev in events(dag) if ev.type == E.JOB_ABORTED]
    assert len(aborted) == 1 and "condor_rm" in aborted[0]["Reason"]
    assert list(dag.parent.glob("*.rescue001"))


def test_a_starter_killed_mid_job_fails_that_attempt_and_the_rest_goes_on(
    tmp_path: Path,
) -> None:
    dag = planned(
        tmp_path / "wf",
        [("sleep", "/bin/sleep", ["301"]), ("noop", "/bin/true", []), ("noop", "/bin/true", [])],
    )
    engine = start_engine(dag, tmp_path / "scratch")
    tasks = []
    try:
        task, starter = find_process(["/bin/sleep", "301"], engine.pid)
        tasks.append(task)
        os.kill(starter, signal.SIGKILL)
        # The planner's RETRY 1 runs the job again, in another starter.
        deadline = time.time() + 30
        while "Retrying node sleep_ID0000001" not in dagman_out(dag):
            assert time.time() < deadline, dagman_out(dag)[-2000:]
            time.sleep(0.05)
        os.kill(task, signal.SIGKILL)  # orphaned: nobody was left to pass a signal on
        again, second = find_process(["/bin/sleep", "301"], engine.pid)
        tasks.append(again)
        assert second != starter and alive(second)
        engine.send_signal(signal.SIGTERM)
        assert engine.wait(timeout=30) == 1
    finally:
        engine.kill()
        for pid in tasks:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    evs = events(dag)
    killed = [ev for ev in evs if ev.type == E.JOB_TERMINATED and not ev["TerminatedNormally"]]
    assert len(killed) == 1 and killed[0]["TerminatedBySignal"] == signal.SIGKILL
    assert "failed with signal 9" in dagman_out(dag)
    ok = [ev for ev in evs if ev.type == E.POST_SCRIPT_TERMINATED and ev["ReturnValue"] == 0]
    assert len(ok) == 2, "both no-op jobs still ran to success"
    rescue = next(dag.parent.glob("*.rescue001")).read_text()
    assert "DONE noop_ID0000002" in rescue and "DONE sleep_ID0000001" not in rescue


def test_a_failed_stage_in_holds_the_job_before_it_executes(tmp_path: Path) -> None:
    dag = planned(tmp_path / "wf", [("noop", "/bin/true", []), ("noop", "/bin/true", [])])
    (dag.parent / "00" / "00" / "noop_ID0000002.lite.json").unlink()
    result = run(dag, EngineConfig(cpus=2, scratch_root=tmp_path / "scratch"))
    assert result.exit_code == 1 and result.failed == ["noop_ID0000002"]
    evs = events(dag)
    held = [ev for ev in evs if ev.type == E.JOB_HELD]
    assert held, dagman_out(dag)[-2000:]
    assert all("noop_ID0000002.lite.json" in ev["HoldReason"] for ev in held)
    assert all(ev["HoldReasonCode"] == 13 for ev in held)
    held_clusters = {ev.cluster for ev in held}
    executed = {ev.cluster for ev in evs if ev.type == E.EXECUTE}
    assert not held_clusters & executed, "a job whose inputs never arrived never executed"
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_request_too_large_for_a_starter_runs_the_old_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # POST scripts get the engine's whole environment: 1 MB of it cannot go over a starter's
    # socket, so the verdicts are judged inside the engine instead, with the same outcome.
    monkeypatch.setenv("AERIE_TEST_BULK", "x" * (1 << 20))
    dag = planned(tmp_path / "wf", [("noop", "/bin/true", [])] * 3)
    result = run(dag, EngineConfig(cpus=2, scratch_root=tmp_path / "scratch"))
    assert result.exit_code == 0, dagman_out(dag)[-3000:]
    verdicts = dag.with_name(dag.name.replace(".dag", ".exitcode.log")).read_text()
    assert len(verdicts.splitlines()) == 3
    line = next(line for line in dagman_out(dag).splitlines() if "Starters:" in line)
    served = int(line.split("forked,")[1].split()[0])
    assert served == 4, "the jobs (3 + create-dir) went to starters, the POSTs did not"
