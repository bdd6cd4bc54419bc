"""`aerie status / analyze / statistics` as a user runs them: a real `aerie` process on a submit
dir, monitoring it into the embedded SQLite database first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "worker" / "monitor"))
from monitor_synth import T0, Node, SubmitDir  # noqa: E402

AERIE = Path(sys.executable).with_name("aerie")
pytestmark = pytest.mark.slow  # each test starts `aerie` processes (~3 s each)
PRE = Node("preprocess_ID1", "diamond::preprocess:4.0", "ID1", retries=1)
ANA = Node("analyze_ID2", "diamond::analyze:4.0", "ID2")
MKDIR = Node("create_dir_diamond_0_local", post=False)


def aerie(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    env.update(AERIE_DATA_DIR=str(tmp / "data"), AERIE_CONFIG=os.devnull, TZ="UTC")
    return subprocess.run(
        [str(AERIE), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli") / "submit"
    sd = SubmitDir(root)
    sd.nodes = [MKDIR, PRE, ANA]
    sd.edges = [(MKDIR.name, PRE.name), (PRE.name, ANA.name)]
    sd.write_plan()
    sd.dagman_started(T0)
    sd.attempt(MKDIR, T0 + 1, T0 + 2, T0 + 3, 0)
    sd.attempt(PRE, T0 + 10, T0 + 11, T0 + 14, 1, records=[sd.record(PRE, T0 + 11, 2.5, 1)])
    sd.attempt(PRE, T0 + 20, T0 + 21, T0 + 24.5, 0, records=[sd.record(PRE, T0 + 21, 3.0, 0)])
    failing = sd.record(ANA, T0 + 31, 8.0, 3, stderr_tail="analyze: cannot open f.c")
    sd.attempt(ANA, T0 + 30, T0 + 31, T0 + 40, 3, records=[failing])
    sd.dagman_finished(T0 + 45, 1)
    return root


def test_statistics_prints_pegasus_summary(run_dir: Path, tmp_path: Path) -> None:
    res = aerie(tmp_path, "statistics", str(run_dir))
    assert res.returncode == 0, res.stderr
    table = [line.split() for line in res.stdout.splitlines() if line[:5] in ("Tasks", "Jobs ")]
    # Succeeded Failed Incomplete Total Retries Total+Retries
    assert table == [
        ["Tasks", "1", "1", "0", "2", "1", "3"],
        ["Jobs", "2", "1", "0", "3", "1", "4"],
    ]
    assert "Workflow wall time                                       : 45.0 secs" in res.stdout
    assert "Cumulative job wall time                                 : 13.5 secs" in res.stdout
    assert "Cumulative job badput wall time                          : 10.5 secs" in res.stdout
    # again: the monitor has nothing new, the figures are the same
    again = aerie(tmp_path, "statistics", str(run_dir))
    assert again.stdout == res.stdout


def test_statistics_json_and_files(run_dir: Path, tmp_path: Path) -> None:
    res = aerie(tmp_path, "statistics", str(run_dir), "-s", "all", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["summary"]["cum_job_wall_time"] == pytest.approx(2.5 + 3.0 + 8.0)
    assert data["summary"]["submit_side_badput"] == pytest.approx(3.0 + 9.0)
    tx = {(r["transformation"], r["type"]): r["count"] for r in data["transformations"]["All"]}
    assert tx[("diamond::preprocess:4.0", "failed")] == 1
    assert tx[("dagman::post", "successful")] == 1
    assert [h["hostname"] for h in data["hosts"]] == ["node1.example.org"]
    out = tmp_path / "stats"
    res = aerie(tmp_path, "statistics", str(run_dir), "-s", "all", "-o", str(out))
    assert res.returncode == 0, res.stderr
    names = {"summary.txt", "workflow.txt", "jobs.txt", "breakdown.txt", "time.txt",
             "integrity.txt", "hosts.txt"}  # fmt: skip
    assert {p.name for p in out.iterdir()} == names
    jobs = (out / "jobs.txt").read_text().splitlines()
    assert any(line.split()[:3] == ["analyze_ID2", "1", "local"] for line in jobs)


def test_status_long_and_short(run_dir: Path, tmp_path: Path) -> None:
    res = aerie(tmp_path, "status", str(run_dir), "-l")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["UNREADY", "READY", "PRE", "IN_Q", "POST", "DONE", "FAIL",
                                "%DONE", "STATE", "DAGNAME"]  # fmt: skip
    assert lines[1].split() == ["0", "0", "0", "0", "0", "2", "1", "66.67", "Failure",
                                "diamond-0.dag"]  # fmt: skip
    assert lines[-1] == "Summary: 1 DAG total (Failure:1)"
    short = aerie(tmp_path, "status", str(run_dir), "--json")
    assert json.loads(short.stdout)["totals"]["failed"] == 1


def test_analyze_shows_the_failed_task(run_dir: Path, tmp_path: Path) -> None:
    res = aerie(tmp_path, "analyze", str(run_dir))
    assert res.returncode == 2  # like pegasus-analyzer when jobs failed
    assert " # jobs failed      :      1 (33.33%)" in res.stdout
    assert "analyze_ID2".center(80, "=") in res.stdout
    assert "exitcode    : 3" in res.stdout
    assert "analyze: cannot open f.c" in res.stdout


def test_watch_stops_when_the_workflow_has_ended(run_dir: Path, tmp_path: Path) -> None:
    res = aerie(tmp_path, "status", str(run_dir), "--watch", "1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("Summary: 1 DAG total (Failure:1)") == 1


def test_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    res = aerie(tmp_path, "status", "no-such-run")
    assert res.returncode == 1
    assert "no-such-run" in res.stderr and "not found" in res.stderr
