"""`aerie run` to failure and back: retries in provenance, a POST failure on a missing output,
an integrity failure on a corrupted input, a rescue that skips finished nodes, a resume after
the engine is SIGKILLed, and `aerie remove RUN`. Side effects are counted per node (the `step`
script logs every execution), so "never re-run a node that succeeded" is observed, not assumed."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.e2e.runcli import Aerie, StepWorkflow, example, run_id_of, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def aerie(tmp_path: Path) -> Aerie:
    return Aerie(tmp_path / "data")


def _run(aerie: Aerie, workflow: Path, *options: str) -> tuple[int, str, str]:
    result = aerie("run", str(workflow), "-s", "local", "--wait", "--interval", "0.2", *options)
    return result.returncode, result.stdout, result.stderr


def test_retries_are_recorded_as_job_instances(aerie: Aerie, tmp_path: Path) -> None:
    wf = StepWorkflow(tmp_path / "flaky")
    wf.add("A", outputs=["a.txt"], fails=2, retry=3)
    wf.add("B", inputs=["a.txt"], outputs=["b.txt"], stage_out=True)
    code, out, err = _run(aerie, wf.write())
    assert code == 0, out + err
    run_id = run_id_of(out)
    assert wf.executions() == {"A": 3, "B": 1}
    attempts = aerie.instances(run_id, "step_A")
    assert [exitcode for _, exitcode in attempts] == [256, 256, 0]  # raw wait statuses
    seqs = [seq for seq, _ in attempts]
    assert seqs == sorted(set(seqs))  # three distinct, increasing submissions
    stats = aerie.json("statistics", run_id, "--json")
    assert stats["summary"]["jobs"]["retries"] == 2


def test_a_missing_output_fails_the_run_with_the_analyzer_summary(
    aerie: Aerie, tmp_path: Path
) -> None:
    wf = StepWorkflow(tmp_path / "missing")
    wf.add("A", outputs=["a.txt", "forgotten.txt"], write=["a.txt"], retry=0, stage_out=True)
    code, out, err = _run(aerie, wf.write())
    assert code == 1, out + err
    run_id = run_id_of(out)
    assert f"run {run_id} failed" in err
    assert "step_A" in err  # the analyzer's summary names the failed job
    assert aerie.run_row(run_id)["state"] == "failed"
    analysis = aerie.json("analyze", run_id, "--json")
    failed = {job["name"]: job for job in analysis["failed_jobs"]}
    assert set(failed) == {"step_A"}
    assert "forgotten.txt" in json.dumps(failed["step_A"])
    assert wf.executions() == {"A": 1}  # RETRY 0: one attempt


def test_a_corrupted_input_fails_integrity(aerie: Aerie, tmp_path: Path) -> None:
    workflow = example(tmp_path, "diamond")  # its replica catalog has f.a's sha256
    f_a = workflow.parent / "f.a"
    f_a.write_text(f_a.read_text() + "tampered\n")
    code, out, err = _run(aerie, workflow)
    assert code == 1, out + err
    run_id = run_id_of(out)
    analysis = aerie.json("analyze", run_id, "--json")
    text = json.dumps(analysis["failed_jobs"])
    assert '"failed_step": "integrity"' in text.replace("'", '"') or "integrity" in text
    with aerie.db() as db:
        steps = {
            row[0]
            for row in db.execute(
                "SELECT i.failed_step FROM invocation i JOIN workflow w ON w.wf_id = i.wf_id "
                "WHERE w.run_id = ?",
                (run_id,),
            )
        }
    assert "integrity" in steps
    assert not (aerie.output_dir(run_id) / "f.d").exists()


def test_rescue_after_failure_skips_finished_nodes(aerie: Aerie, tmp_path: Path) -> None:
    gate = tmp_path / "fixed"
    wf = StepWorkflow(tmp_path / "rescue")
    wf.add("A", outputs=["a.txt"])
    wf.add("B", inputs=["a.txt"], outputs=["b.txt"], gate=gate, retry=0)
    wf.add("C", inputs=["a.txt"], outputs=["c.txt"])
    wf.add("D", inputs=["b.txt", "c.txt"], outputs=["d.txt"], stage_out=True)
    code, out, err = _run(aerie, wf.write())
    assert code == 1, out + err
    run_id = run_id_of(out)
    assert wf.executions() == {"A": 1, "B": 1, "C": 1}
    gate.touch()  # the user fixes the cause
    rescued = aerie("run", "--rescue", run_id, "--wait", "--interval", "0.2")
    assert rescued.returncode == 0, rescued.stdout + rescued.stderr
    assert "resuming from the rescue DAG" in rescued.stdout
    assert wf.executions() == {"A": 1, "B": 2, "C": 1, "D": 1}
    assert (aerie.output_dir(run_id) / "d.txt").read_text() == "D\n"
    assert aerie.run_row(run_id)["state"] == "succeeded"
    assert any(Path(aerie.submit_dir(run_id)).glob("*.dag.rescue001"))


def _engine_pid(aerie: Aerie, run_id: str) -> int:
    handle = aerie.run_row(run_id)["engine_handle"]
    return int(json.loads(handle)["job_id"])


def _alive(pid: int) -> bool:
    """Running, and not a zombie (the engine's parent has exited; init may reap it late)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_resume_after_the_engine_is_killed(aerie: Aerie, tmp_path: Path) -> None:
    wf = StepWorkflow(tmp_path / "chain")
    previous: list[str] = []
    for name in "ABCDE":  # C runs long enough to be killed in the middle, even on a busy host
        sleep = 4 if name == "C" else 0.2
        wf.add(name, inputs=previous, outputs=[f"{name}.txt"], sleep=sleep, stage_out=name == "E")
        previous = [f"{name}.txt"]
    started = aerie("run", str(wf.write()), "-s", "local")
    assert started.returncode == 0, started.stderr
    run_id = run_id_of(started.stdout)
    pid = _engine_pid(aerie, run_id)
    wait_for(lambda: wf.executions().get("C", 0) >= 1, what="node C to start")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _alive(pid), what="the engine to die")
    assert aerie.run_row(run_id)["state"] == "running"  # nobody noticed yet
    resumed = aerie("run", "--rescue", run_id, "--wait", "--interval", "0.2")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "its engine had died; resumed" in resumed.stdout
    counts = wf.executions()
    # A and B had finished before the kill: never again. C was running: at most once more.
    assert counts["A"] == 1 and counts["B"] == 1
    assert counts["C"] in (1, 2)
    assert counts["D"] == 1 and counts["E"] == 1
    assert _engine_pid(aerie, run_id) != pid
    assert aerie.run_row(run_id)["state"] == "succeeded"
    status = aerie.json("status", run_id, "--json")
    assert status["totals"]["state"] == "Success"


def test_ctrl_c_leaves_the_run_and_remove_cancels_it(aerie: Aerie, tmp_path: Path) -> None:
    wf = StepWorkflow(tmp_path / "long")
    wf.add("A", outputs=["a.txt"], sleep=60)
    wf.add("B", inputs=["a.txt"], outputs=["b.txt"], stage_out=True)
    watcher = aerie.popen("run", str(wf.write()), "-s", "local", "--wait", "--interval", "0.2")
    assert watcher.stdout is not None
    first = watcher.stdout.readline()  # "run <id> (<name>) is running": now it is watching
    wait_for(lambda: wf.executions().get("A", 0) >= 1, what="node A to start")
    watcher.send_signal(signal.SIGINT)  # Ctrl-C stops watching, not the run
    out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 130, out + err
    run_id = run_id_of(first + out)
    assert f"run {run_id} keeps running" in err
    pid = _engine_pid(aerie, run_id)
    assert _alive(pid) and aerie.run_row(run_id)["state"] == "running"
    removed = aerie("remove", run_id)
    assert removed.returncode == 0, removed.stderr
    assert f"run {run_id} cancelled" in removed.stdout
    assert not _alive(pid)
    assert aerie.run_row(run_id)["state"] == "cancelled"
    assert wf.executions() == {"A": 1}  # A was killed (it never wrote a.txt), B never ran
    again = aerie("remove", run_id)
    assert again.returncode == 1 and "already ended" in again.stderr
    unknown = aerie("remove", "no-such-run")
    assert unknown.returncode == 1 and "no workflow run and no submit directory" in unknown.stderr


def test_bad_input_is_reported_with_its_place_and_nothing_runs(
    aerie: Aerie, tmp_path: Path
) -> None:
    workflow = example(tmp_path, "diamond")
    text = workflow.read_text().replace(
        "  name: findrange\n  id: ID0000002", "  nme: findrange\n  id: ID0000002"
    )
    workflow.write_text(text)
    line = text.splitlines().index("  nme: findrange") + 1
    code, out, err = _run(aerie, workflow)
    assert code == 1
    assert f"{workflow}:{line}" in err and "nme" in err, err
    assert not (aerie.data_dir / "runs").exists() or not any(
        p for p in (aerie.data_dir / "runs").iterdir() if not p.name.startswith(".")
    )
