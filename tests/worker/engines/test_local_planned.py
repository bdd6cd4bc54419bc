"""A real planned workflow (the Pegasus diamond, planned by our planner, wrapped by aerie-lite)
run by the local engine: outputs delivered, one invocation record and one POST verdict per
job, the same files and events whether the wrapper runs in long-lived starters, in a fork of
the engine per job (POST inline), or exec'd as a separate process; a failing job is retried,
fails the run, and the rescue run finishes it."""

from __future__ import annotations

import json
import shutil
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


def planned_diamond(shared_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(DAG file, output dir) of the diamond example planned for the local site."""
    base = tmp_path / "diamond"
    shutil.copytree(shared_dir / "pegasus" / "examples" / "diamond-catalogs", base)
    for path in base.glob("*.yml"):
        path.write_text(path.read_text().replace("/EXAMPLES_DIR/diamond-catalogs", str(base)))
    inputs = load_inputs(base / "workflow.yml", sites=["local"])
    submit = tmp_path / "submit"
    write(plan(inputs, PlanOptions(submit_dir=submit, sites=["local"])))
    install_wrapper(submit)
    return next(submit.glob("*.dag")), base / "output"


def records(submit: Path) -> list[dict[str, object]]:
    found = []
    for out in sorted(submit.glob("00/00/*.out*")):
        for line in out.read_text().splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
    return found


@pytest.mark.parametrize("mode", ["starters", "forked", "exec"])
def test_planned_diamond_runs_with_full_provenance(
    shared_dir: Path, tmp_path: Path, mode: str
) -> None:
    dag, output = planned_diamond(shared_dir, tmp_path)
    config = EngineConfig(
        cpus=2,
        scratch_root=tmp_path / "scratch",
        inprocess_wrapper=mode != "exec",
        inline_post=mode != "exec",
        starters=mode == "starters",
    )
    result = run(dag, config)
    assert result.exit_code == 0, (dag.parent / (dag.name + ".dagman.out")).read_text()[-3000:]
    assert sorted(p.name for p in output.iterdir()) == ["f.b1", "f.b2", "f.c1", "f.c2", "f.d"]
    invocations = [r for r in records(dag.parent) if r.get("type") == "aerie.invocation"]
    compute = {
        r["job_name"]
        for r in invocations
        if r.get("transformation") in ("preprocess", "findrange", "analyze")
    }
    assert compute == {
        "preprocess_ID0000001",
        "findrange_ID0000002",
        "findrange_ID0000003",
        "analyze_ID0000004",
    }
    verdicts = (dag.parent / dag.name.replace(".dag", ".exitcode.log")).read_text().splitlines()
    assert len(verdicts) == 4, "one POST verdict per compute job"
    evs = list(htcondor2.JobEventLog(str(dag) + ".nodes.log").events(0))
    assert sum(1 for ev in evs if ev.type == E.POST_SCRIPT_TERMINATED) == 4
    terms = [ev for ev in evs if ev.type == E.JOB_TERMINATED]
    assert terms and all(ev["ReturnValue"] == 0 for ev in terms)
    assert list((tmp_path / "scratch").iterdir()) == []


def test_planned_failure_is_retried_and_the_rescue_run_finishes(
    shared_dir: Path, tmp_path: Path
) -> None:
    dag, output = planned_diamond(shared_dir, tmp_path)
    staged = dag.parent / "00" / "00"
    # Break analyze's input on purpose: its job fails (and is retried per RETRY), the POST
    # verdict fails the node, its stage-out never runs.
    lite = staged / "analyze_ID0000004.lite.json"
    spec = json.loads(lite.read_text())
    good_executable = spec["executable"]
    spec["executable"] = "/bin/false"
    lite.write_text(json.dumps(spec))
    config = EngineConfig(cpus=2, scratch_root=tmp_path / "scratch")
    first = run(dag, config)
    assert first.exit_code == 1 and first.failed == ["analyze_ID0000004"]
    assert not (output / "f.d").exists() and (output / "f.c1").exists()
    analyze_runs = [r for r in records(dag.parent) if r.get("job_name") == "analyze_ID0000004"]
    assert len(analyze_runs) == 3, "first try plus RETRY 2"
    spec["executable"] = good_executable
    lite.write_text(json.dumps(spec))
    second = run(dag, config)
    assert second.exit_code == 0
    assert (output / "f.d").exists()
    preprocess = [r for r in records(dag.parent) if r.get("job_name") == "preprocess_ID0000001"]
    assert len(preprocess) == 1, "nodes that succeeded before are not run again"


def test_planned_hierarchical_workflow_runs_its_subdag(shared_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "wf"
    shutil.copytree(shared_dir / "pegasus" / "examples" / "hierarchical", base)
    for path in base.glob("*.yml"):
        path.write_text(path.read_text().replace("/EXAMPLES_DIR/hierarchical", str(base)))
    workflow = base / "workflow.yml"
    submit = tmp_path / "submit"
    options = PlanOptions(
        submit_dir=submit,
        sites=["local"],
        workflow_file=str(workflow),
        sources={"workflow.yml": str(workflow)},
    )
    write(plan(load_inputs(workflow, sites=["local"]), options))
    install_wrapper(submit)
    dag = next(submit.glob("*.dag"))
    assert "SUBDAG EXTERNAL" in dag.read_text()
    result = run(dag, EngineConfig(cpus=2, scratch_root=tmp_path / "scratch"))
    assert result.exit_code == 0, (dag.parent / (dag.name + ".dagman.out")).read_text()[-3000:]
    inner_metrics = list(submit.glob("00/00/*.000/*.dag.metrics"))  # inner_SUB01 links here
    assert len(inner_metrics) == 1 and json.loads(inner_metrics[0].read_text())["exitcode"] == 0
    size = len((base / "words.txt").read_bytes())
    counted = next(tmp_path.glob("*output*/count.txt")).read_text().split()
    assert counted == [str(size), "upper.txt"], "the outer job counted the inner job's output"
