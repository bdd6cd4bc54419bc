"""`aerie run --wait` runs real workflows to success through the real command (embedded SQLite):
the Pegasus examples (diamond, split/wc) and a generated Montage-shaped workflow; their outputs
are right, status says so, and the statistics equal what the invocation records say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.runcli import Aerie, example, montage, run_id_of

pytestmark = pytest.mark.slow


@pytest.fixture
def aerie(tmp_path: Path) -> Aerie:
    return Aerie(tmp_path / "data")


def _run_ok(aerie: Aerie, workflow: Path, *options: str) -> str:
    result = aerie("run", str(workflow), "-s", "local", "--wait", "--interval", "0.2", *options)
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    assert f"run {run_id} succeeded" in result.stdout
    assert aerie.run_row(run_id)["state"] == "succeeded"
    return run_id


def test_diamond_runs_to_success_and_status_shows_it(aerie: Aerie, tmp_path: Path) -> None:
    workflow = example(tmp_path, "diamond")
    run_id = _run_ok(aerie, workflow, "--name", "my-diamond")
    f_a = (workflow.parent / "f.a").read_text()
    # preprocess tees f.a to f.b1/f.b2, findrange sorts -n / -rn, analyze cats both
    lines = f_a.splitlines()
    expected = sorted(lines, key=_numeric) + sorted(lines, key=_numeric, reverse=True)
    produced = (aerie.output_dir(run_id) / "f.d").read_text().splitlines()
    assert sorted(produced) == sorted(expected)
    assert len(produced) == 2 * len(lines)
    row = aerie.run_row(run_id)
    assert row["name"] == "my-diamond" and row["submit_dir"] == str(aerie.submit_dir(run_id))
    status = aerie.json("status", run_id, "--json")
    dag = status["totals"]
    assert (dag["state"], dag["failed"], dag["succeeded"]) == ("Success", 0, dag["total"])
    text = aerie("status", run_id, "-l")
    assert "Success" in text.stdout and "100.0" in text.stdout


def _numeric(line: str) -> float:
    head = line.strip().split(" ")[0] if line.strip() else ""
    try:
        return float(head)
    except ValueError:
        return 0.0


def test_split_counts_every_part(aerie: Aerie, tmp_path: Path) -> None:
    workflow = example(tmp_path, "split")
    run_id = _run_ok(aerie, workflow)
    html = (workflow.parent / "pegasus.html").read_text()
    out = aerie.output_dir(run_id)
    counts = {p: int((out / f"count.txt.{p}").read_text().split()[0]) for p in "abcd"}
    assert sum(counts.values()) == html.count("\n")
    assert counts["a"] == 5  # split -l 5: every part but the last has five lines


def test_generated_montage_runs_every_job(aerie: Aerie, tmp_path: Path) -> None:
    workflow, raws = montage(tmp_path / "montage", images=5)
    run_id = _run_ok(aerie, workflow)
    mosaic = (aerie.output_dir(run_id) / "mosaic.png").read_text()
    for raw in raws:  # every image went through mProject, mBackground and mAdd
        assert raw in mosaic
    stats = aerie.json("statistics", run_id, "--json")
    tasks = stats["summary"]["tasks"]
    # 5 mProject, 4 mDiffFit, mConcatFit, mBgModel, 5 mBackground, mImgtbl, mAdd, mViewer
    assert (tasks["succeeded"], tasks["failed"], tasks["total"]) == (19, 0, 19)


def _records(submit_dir: Path) -> list[dict[str, object]]:
    """Every invocation record the job wrapper printed, from every attempt's stdout."""
    records = []
    for path in sorted(submit_dir.glob("00/*/*.out*")):
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                data = json.loads(line)
                if data.get("type") == "aerie.invocation":
                    records.append(data)
    return records


def test_statistics_equal_the_invocation_records(aerie: Aerie, tmp_path: Path) -> None:
    workflow = example(tmp_path, "split")
    run_id = _run_ok(aerie, workflow)
    records = _records(aerie.submit_dir(run_id))
    stats = aerie.json("statistics", run_id, "--json", "-s", "summary,jb_stats,tf_stats")
    summary = stats["summary"]
    compute = [r for r in records if not str(r["transformation"]).startswith("pegasus::")]
    assert len(compute) == 5  # split + four wc
    assert summary["tasks"]["succeeded"] == len([r for r in compute if r["exitcode"] == 0])
    assert summary["jobs"]["total"] == len({r["job_name"] for r in records})
    wall = sum(float(r["duration"]) for r in records)  # type: ignore[arg-type]
    assert summary["cum_job_wall_time"] == pytest.approx(wall, abs=1e-5)
    assert summary["cum_job_badput"] == 0
    jobs = next(iter(stats["jobs"].values()))
    by_job = {row["job"]: row for row in jobs}
    for r in records:
        row = by_job[r["job_name"]]
        assert row["kickstart"] == pytest.approx(r["duration"], abs=1e-6), r["job_name"]
        assert row["exitcode"] == r["exitcode"]
    breakdown = {row["transformation"]: row for row in stats["transformations"]["All"]}
    wc = [float(r["duration"]) for r in compute if r["transformation"] == "wc"]  # type: ignore[arg-type]
    assert breakdown["wc"]["count"] == 4
    assert breakdown["wc"]["mean"] == pytest.approx(sum(wc) / 4, abs=1e-5)
    assert breakdown["wc"]["max"] == pytest.approx(max(wc), abs=1e-6)
