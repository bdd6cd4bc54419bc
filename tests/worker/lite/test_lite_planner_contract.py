"""The contract with the planner: every ``.lite.json`` it writes is one the wrapper runs.

The planner writes lite.json as plain dicts (it may not import the worker), so drift between the
two sides would only show at run time; these tests plan the shared examples and feed the result
to the wrapper.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from planner import PlanOptions, plan, write
from planner.inputs import load_inputs
from worker.lite import jobspec

from .conftest import shared_dir


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("examples") / "examples"
    shutil.copytree(shared_dir() / "pegasus" / "examples", dest)
    for p in dest.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
        if p.is_file() and p.suffix in (".yml", ".yaml", ".properties"):
            p.write_text(p.read_text().replace("/EXAMPLES_DIR", str(dest)))
    split = (dest / "split" / "workflow.yml").read_text()
    clustered = split.replace(
        "  - name: wc\n    sites:",
        "  - name: wc\n    profiles:\n      pegasus:\n        clusters.size: 4\n    sites:",
    )
    assert clustered != split
    (dest / "split" / "clustered.yml").write_text(clustered)
    return dest


def _plan(workflow: Path, submit: Path, **opts: object) -> Path:
    write(plan(load_inputs(str(workflow)), PlanOptions(submit_dir=submit, **opts)))  # type: ignore[arg-type]
    return submit


@pytest.mark.parametrize(
    ("workflow", "opts", "expect"),
    [
        ("diamond/workflow.yml", {"sites": ["local"]}, {"plain": 4}),
        ("split/clustered.yml", {"sites": ["local"], "cluster": ["horizontal"]},
         {"plain": 1, "clustered": 1}),
        ("container/workflow.yml", {}, {"container": 1}),
    ],
)  # fmt: skip
def test_planned_lite_json_parses(
    examples: Path, tmp_path: Path, workflow: str, opts: dict, expect: dict
) -> None:
    submit = _plan(examples / workflow, tmp_path / "submit", **opts)
    kinds: dict[str, int] = {}
    for path in sorted(submit.rglob("*.lite.json")):
        spec = jobspec.load(str(path))
        kind = "container" if spec.container else "clustered" if spec.tasks is not None else "plain"
        kinds[kind] = kinds.get(kind, 0) + 1
        assert spec.run_tasks(), path
    assert kinds == expect


def test_planned_diamond_job_runs_in_the_wrapper(examples: Path, tmp_path: Path, lite) -> None:
    """preprocess_ID0000001 as HTCondor would start it in condorio: inputs copied to scratch."""
    submit = _plan(examples / "diamond" / "workflow.yml", tmp_path / "submit", sites=["local"])
    lite_json = submit / "00" / "00" / "preprocess_ID0000001.lite.json"
    spec = json.loads(lite_json.read_text())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    shutil.copy(lite_json, scratch)
    for item in spec["inputs"]:
        shutil.copy(examples / "diamond" / item["lfn"], scratch / item["lfn"])
    res = lite("run", lite_json.name, cwd=scratch)
    assert res.returncode == 0, res.stdout + res.stderr
    rec = res.record
    assert rec["job_id"] == "ID0000001" and rec["failed_step"] is None
    assert rec["integrity"]["succeeded"] == 1  # f.a carries an RC sha256
    assert sorted(o["lfn"] for o in rec["outputs"]) == ["f.b1", "f.b2"]
    assert all(o["sha256"] for o in rec["outputs"])
