"""Runs really planned, executed and monitored, with the worker tasks in-process (the embedded
`aerie serve` mode, SQLite): what a user sees through the API from submission to outputs."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.db.models import Run
from tests.gateway.api.conftest import Embedded
from tests.gateway.pegasus_workflows import (
    EXPECTED_OUTPUT,
    build_failing,
    build_pipeline,
    build_sleeper,
    multipart,
)

pytestmark = pytest.mark.slow


def submit(e: Embedded, auth: dict[str, str], docs: dict[str, Path]) -> str:
    response = e.client.post(
        "/api/v1/workflows", headers=auth, files=multipart(docs), data={"execution_sites": "local"}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def wait_for(
    e: Embedded, auth: dict[str, str], run_id: str, states: set[str], timeout: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = e.client.get(f"/api/v1/workflows/{run_id}", headers=auth).json()
        if run["state"] in states:
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still {run['state']} after {timeout}s: {run}")


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_a_submitted_workflow_runs_to_success_with_provenance_and_outputs(
    embedded: Embedded, tmp_path: Path
) -> None:
    _, auth = embedded.user("alice")
    run_id = submit(embedded, auth, build_pipeline(tmp_path / "wf"))
    base = f"/api/v1/workflows/{run_id}"

    # The event stream ends when the run does; it replays every change from the start.
    events = sse(embedded.client.get(f"{base}/events", headers=auth).text)
    states = [data["state"] for kind, data in events if kind == "state"]
    assert states[0] == "queued" and states[-1] == "succeeded"
    assert "planning" in states and "running" in states
    assert events[-1] == ("end", {"run": run_id, "state": "succeeded"})
    ids = [data["id"] for kind, data in events if kind == "state"]
    assert ids == sorted(ids)
    resumed = sse(
        embedded.client.get(f"{base}/events", headers={**auth, "Last-Event-ID": str(ids[-2])}).text
    )
    assert [d["id"] for k, d in resumed if k == "state"] == [ids[-1]]

    run = embedded.client.get(base, headers=auth).json()
    assert run["state"] == "succeeded" and run["ended"] and run["started"]
    assert run["counts"]["failed"] == 0
    assert run["counts"]["succeeded"] == run["counts"]["total"] > 3

    jobs = embedded.client.get(f"{base}/jobs", headers=auth).json()["data"]
    compute = {j["name"]: j for j in jobs if j["type"] == "compute"}
    assert set(compute) == {"upper_ID1", "upper_ID2", "join_ID3"}
    assert all(j["state"] == "succeeded" and j["retries"] == 0 for j in compute.values())
    only_upper = embedded.client.get(
        f"{base}/jobs", headers=auth, params={"transformation": "upper"}
    ).json()["data"]
    assert sorted(j["name"] for j in only_upper) == ["upper_ID1", "upper_ID2"]
    page = embedded.client.get(f"{base}/jobs", headers=auth, params={"limit": 2}).json()
    assert len(page["data"]) == 2 and page["next_cursor"] == "2"

    job = embedded.client.get(f"{base}/jobs/join_ID3", headers=auth).json()
    [attempt] = job["instances"]
    assert attempt["exitcode"] == 0
    assert [s["state"] for s in attempt["states"]][-1] in {"POST_SCRIPT_SUCCESS", "JOB_SUCCESS"}
    tasks = {i["task_submit_seq"]: i for i in attempt["invocations"]}
    assert tasks[1]["transformation"] == "join" and tasks[1]["exitcode"] == 0
    assert tasks[-2]["transformation"] == "dagman::post"  # the POST script's verdict
    assert embedded.client.get(f"{base}/jobs/nope", headers=auth).status_code == 404

    graph = embedded.client.get(f"{base}/graph", headers=auth).json()
    names = {n["id"] for n in graph["nodes"]}
    assert {"upper_ID1", "upper_ID2", "join_ID3"} <= names
    edges = {(e["parent"], e["child"]) for e in graph["edges"]}
    assert ("upper_ID1", "join_ID3") in edges and ("upper_ID2", "join_ID3") in edges

    files = embedded.client.get(f"{base}/files", headers=auth).json()["data"]
    [out] = [f for f in files if f["lfn"] == "f.out"]
    assert out["size"] == len(EXPECTED_OUTPUT)
    assert out["sha256"] == hashlib.sha256(EXPECTED_OUTPUT.encode()).hexdigest()
    download = embedded.client.get(out["download"], headers=auth)
    assert download.status_code == 200 and download.text == EXPECTED_OUTPUT
    outside = embedded.client.get(f"{base}/files/..%2Finputs%2Fworkflow.yml", headers=auth)
    assert outside.status_code == 404

    stats = embedded.client.get(f"{base}/statistics", headers=auth).json()
    assert stats["summary"]["jobs"]["succeeded"] == run["counts"]["total"]
    assert stats["summary"]["jobs"]["failed"] == 0
    text = embedded.client.get(f"{base}/statistics", headers=auth, params={"format": "text"})
    assert "Workflow wall time" in text.text
    analysis = embedded.client.get(f"{base}/analysis", headers=auth).json()
    assert analysis["failed"] == 0 and analysis["failed_jobs"] == []

    # Deleting the finished run removes its rows and its files.
    assert embedded.client.delete(base, headers=auth).status_code == 204
    assert not (embedded.settings.data_dir / "runs" / run_id).exists()
    assert embedded.client.get(f"{base}/jobs", headers=auth).status_code == 404


def test_a_failed_run_is_analysed_and_a_retry_resumes_from_the_rescue_dag(
    embedded: Embedded, tmp_path: Path
) -> None:
    _, auth = embedded.user("bob")
    flag = tmp_path / "fixed"
    docs = build_failing(tmp_path / "wf", flag)
    run_id = submit(embedded, auth, docs)
    base = f"/api/v1/workflows/{run_id}"

    failed = wait_for(embedded, auth, run_id, {"failed", "succeeded"})
    assert failed["state"] == "failed"
    assert failed["error"]
    analysis = embedded.client.get(f"{base}/analysis", headers=auth).json()
    assert [j["name"] for j in analysis["failed_jobs"]] == ["second_ID2"]
    assert "about to fail" in json.dumps(analysis["failed_jobs"][0])
    failing = embedded.client.get(f"{base}/jobs", headers=auth, params={"state": "failed"}).json()
    assert [j["name"] for j in failing["data"]] == ["second_ID2"]

    flag.touch()
    retried = embedded.client.post(f"{base}/retry", headers=auth)
    assert retried.status_code == 200, retried.text
    done = wait_for(embedded, auth, run_id, {"succeeded", "failed"})

    assert done["state"] == "succeeded"
    # `first` succeeded before the failure and is not run again (rescue DAG).
    assert (tmp_path / "wf" / "first.count").read_text() == "ran\n"


def test_cancelling_a_running_workflow_stops_its_engine(embedded: Embedded, tmp_path: Path) -> None:
    _, auth = embedded.user("carol")
    run_id = submit(embedded, auth, build_sleeper(tmp_path / "wf"))
    wait_for(embedded, auth, run_id, {"running"})
    with embedded.app.state.db.session_scope() as s:
        run = s.get(Run, run_id)
        assert run is not None and run.engine_handle
        pid = int(json.loads(run.engine_handle)["job_id"])

    response = embedded.client.post(f"/api/v1/workflows/{run_id}/cancel", headers=auth)

    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.3)
    assert not _alive(pid), "the engine process is still running after cancel"
    assert (
        embedded.client.get(f"/api/v1/workflows/{run_id}", headers=auth).json()["state"]
        == "cancelled"
    )


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"
