"""`/api/v1/workflows` with the broker boundary recorded: validation, storage, enqueueing,
listing, cancel/retry/delete rules, quotas and default catalogs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.db.models import Run
from gateway.db.states import RunState
from gateway.services import quotas, run_events
from gateway.settings import Settings
from tests.gateway.api.conftest import Headers
from tests.gateway.conftest import MakeUser
from tests.gateway.pegasus_workflows import build_pipeline, multipart

Sent = list[tuple[str, tuple[Any, ...]]]


@pytest.fixture
def pipeline(tmp_path: Path) -> dict[str, Path]:
    return build_pipeline(tmp_path / "pipeline")


def _submit(api: TestClient, auth: dict[str, str], docs: dict[str, Path], **data: str) -> Any:
    return api.post(
        "/api/v1/workflows",
        headers=auth,
        files=multipart(docs),
        data={"execution_sites": "local", **data},
    )


def test_multipart_submission_is_stored_and_planning_enqueued_after_commit(
    api: TestClient,
    make_user: MakeUser,
    headers: Headers,
    pipeline: dict[str, Path],
    sent: Sent,
    settings: Settings,
) -> None:
    alice = make_user()
    response = _submit(
        api, headers(alice), pipeline, name="first", labels=json.dumps({"project": "x"})
    )

    assert response.status_code == 202, response.text
    run = response.json()
    assert run["state"] == "queued"
    assert run["owner"] == alice.name
    assert run["name"] == "first"
    assert run["labels"] == {"project": "x"}
    assert response.headers["location"] == f"/api/v1/workflows/{run['id']}"
    assert set(run["links"]) >= {"self", "jobs", "graph", "statistics", "files", "events"}
    assert sent == [("runs.plan", (run["id"],))]
    stored = settings.data_dir / "runs" / run["id"] / "inputs"
    assert (stored / "workflow.yml").read_bytes() == pipeline["workflow"].read_bytes()
    assert (stored / "transformations.yml").is_file()


def test_json_submission_with_the_documents_as_text(
    api: TestClient, make_user: MakeUser, headers: Headers, pipeline: dict[str, Path], sent: Sent
) -> None:
    body = {k: p.read_text() for k, p in pipeline.items()}
    response = api.post(
        "/api/v1/workflows",
        headers=headers(make_user()),
        json={**body, "execution_sites": ["local"], "engine": "local"},
    )

    assert response.status_code == 202, response.text
    assert response.json()["name"] == "pipeline"  # the workflow's own name by default
    assert len(sent) == 1


def test_invalid_workflow_gets_422_with_every_problem_and_its_place(
    api: TestClient, make_user: MakeUser, headers: Headers, sent: Sent, settings: Settings
) -> None:
    workflow = (
        "pegasus: '5.0'\n"
        "name: broken\n"
        "jobs:\n"
        "- type: job\n"
        "  name: a\n"
        "  id: ID1\n"
        "  arguments: []\n"
        "  uses:\n"
        "  - lfn: f.x\n"
        "    type: inptu\n"
        "- type: job\n"
        "  id: ID2\n"
        "  arguments: []\n"
        "  uses: []\n"
    )
    response = api.post(
        "/api/v1/workflows", headers=headers(make_user()), files={"workflow": ("wf.yml", workflow)}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    places = {(d["field"], d["file"], d["line"], d["path"]) for d in error["details"]}
    assert ("workflow", "workflow.yml", 10, "jobs[0].uses[0].type") in places
    assert any(d["path"].startswith("jobs[1]") and d["line"] == 11 for d in error["details"])
    assert sent == []
    assert not any((settings.data_dir / "runs").glob(".incoming-*"))


def test_a_transformation_no_site_can_run_is_found_before_queueing(
    api: TestClient, make_user: MakeUser, headers: Headers, pipeline: dict[str, Path], sent: Sent
) -> None:
    response = api.post(
        "/api/v1/workflows", headers=headers(make_user()), files=multipart(pipeline)
    )  # no execution_sites: Pegasus's default condorpool has no 'upper'

    assert response.status_code == 422
    messages = " ".join(d["message"] for d in response.json()["error"]["details"])
    assert "upper" in messages and "condorpool" in messages
    assert sent == []


@pytest.mark.parametrize(
    ("files", "data", "needle"),
    [
        ({}, {"name": "x"}, "workflow"),
        ({"workflow": ("w.yml", b"\xff\xfe")}, {}, "UTF-8"),
        ({"workflow": ("w.yml", b"x: 1")}, {"colour": "red"}, "colour"),
        ({"workflow": ("w.yml", b"x: 1")}, {"engine": "slurm"}, "engine"),
        ({"workflow": ("w.yml", b"x: 1")}, {"labels": "[1]"}, "labels"),
    ],
)
def test_malformed_submissions_are_422(
    api: TestClient,
    make_user: MakeUser,
    headers: Headers,
    files: dict[str, Any],
    data: dict[str, str],
    needle: str,
) -> None:
    response = api.post(
        "/api/v1/workflows", headers=headers(make_user()), files=files or None, data=data
    )
    assert response.status_code == 422, response.text
    assert needle in json.dumps(response.json())


def test_labels_are_text_in_and_out_and_filters_match_that_text(
    api: TestClient,
    make_user: MakeUser,
    headers: Headers,
    pipeline: dict[str, Path],
    session: Session,
) -> None:
    """A JSON true/number label reads back as its JSON text ("true", never Python's "True"),
    the same text the dashboard form writes and `label=key=value` compares."""
    alice = make_user()
    auth = headers(alice)
    labels = {"reviewed": True, "n": 3, "ratio": 0.5, "project": "x"}
    body = {k: p.read_text() for k, p in pipeline.items()}
    as_json = api.post(
        "/api/v1/workflows",
        headers=auth,
        json={**body, "execution_sites": ["local"], "name": "as-json", "labels": labels},
    )
    as_form = _submit(api, auth, pipeline, name="as-form", labels=json.dumps(labels))
    text = {"reviewed": "true", "n": "3", "ratio": "0.5", "project": "x"}
    for response in (as_json, as_form):
        assert response.status_code == 202, response.text
        assert response.json()["labels"] == text
        assert api.get(response.json()["links"]["self"], headers=auth).json()["labels"] == text

    # a row written before labels were text (the importer stored a JSON true) reads the same
    legacy = Run(owner_id=alice.id, name="legacy", engine="pegasus-import",
                 labels={"imported": True, "reviewed": True}, state="succeeded")  # fmt: skip
    session.add(legacy)
    session.flush()
    assert api.get(f"/api/v1/workflows/{legacy.id}", headers=auth).json()["labels"] == {
        "imported": "true",
        "reviewed": "true",
    }

    def names(label: str) -> list[str]:
        page = api.get("/api/v1/workflows", headers=auth, params={"label": label})
        return sorted(r["name"] for r in page.json()["data"])

    assert names("reviewed=true") == ["as-form", "as-json", "legacy"]
    assert names("n=3") == ["as-form", "as-json"]
    assert names("reviewed=True") == []

    for bad in ({"nested": {"a": 1}}, {"nothing": None}, {"list": [1]}):
        form = _submit(api, auth, pipeline, labels=json.dumps(bad))
        assert form.status_code == 422, form.text
        (key,) = bad
        assert form.json()["error"]["details"][0]["field"] == f"labels.{key}"
        raw = api.post("/api/v1/workflows", headers=auth, json={**body, "labels": bad})
        assert raw.status_code == 422 and f"labels.{key}" in raw.text


def test_submitting_needs_the_write_scope(
    api: TestClient, make_user: MakeUser, headers: Headers, pipeline: dict[str, Path]
) -> None:
    response = _submit(api, headers(make_user(), scopes=["workflows:read"]), pipeline)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_list_filters_and_cursor_pagination(
    api: TestClient, make_user: MakeUser, headers: Headers, pipeline: dict[str, Path]
) -> None:
    auth = headers(make_user())
    ids = []
    for i in range(5):
        labels = json.dumps({"batch": "even" if i % 2 == 0 else "odd"})
        ids.append(_submit(api, auth, pipeline, name=f"run{i}", labels=labels).json()["id"])
    api.post(f"/api/v1/workflows/{ids[0]}/cancel", headers=auth)

    seen, cursor = [], None
    while True:
        page = api.get(
            "/api/v1/workflows",
            headers=auth,
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
        ).json()
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))

    def names(**params: str) -> list[str]:
        response = api.get("/api/v1/workflows", headers=auth, params=params)
        assert response.status_code == 200, response.text
        return [r["name"] for r in response.json()["data"]]

    assert names(state="cancelled") == ["run0"]
    assert names(state="queued", label="batch=even") == ["run4", "run2"]
    assert names(label="batch") == ["run4", "run3", "run2", "run1", "run0"]
    assert names(name="run3") == ["run3"]
    assert names(since="2999-01-01T00:00:00Z") == []
    bad = api.get("/api/v1/workflows", headers=auth, params={"state": "sleeping"})
    assert bad.status_code == 422
    assert api.get("/api/v1/workflows", headers=auth, params={"cursor": "!!"}).status_code == 422


def test_cancel_retry_delete_follow_the_state_machine(
    api: TestClient,
    make_user: MakeUser,
    headers: Headers,
    pipeline: dict[str, Path],
    sent: Sent,
    session: Session,
    settings: Settings,
) -> None:
    auth = headers(make_user())
    run_id = _submit(api, auth, pipeline).json()["id"]
    base = f"/api/v1/workflows/{run_id}"

    assert api.delete(base, headers=auth).status_code == 409  # still queued
    assert api.post(f"{base}/retry", headers=auth).status_code == 409  # not failed
    cancelled = api.post(f"{base}/cancel", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["ended"] is not None
    again = api.post(f"{base}/cancel", headers=auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert [name for name, _ in sent] == ["runs.plan"]  # no engine yet: nothing to stop

    assert api.delete(base, headers=auth).status_code == 204
    assert api.get(base, headers=auth).status_code == 404
    assert not (settings.data_dir / "runs" / run_id).exists()

    # A failed run can be retried: it goes back to the queue and planning is enqueued.
    failed_id = _submit(api, auth, pipeline).json()["id"]
    run = session.get(Run, failed_id)
    assert run is not None
    run_events.set_state(session, settings, run, RunState.PLANNING)
    run_events.set_state(session, settings, run, RunState.FAILED, detail="boom")
    session.commit()
    retried = api.post(f"/api/v1/workflows/{failed_id}/retry", headers=auth)
    assert retried.status_code == 200 and retried.json()["state"] == "queued"
    assert sent[-1] == ("runs.plan", (failed_id,))


def test_quotas_answer_429_and_409_with_a_reason(
    api: TestClient,
    make_user: MakeUser,
    headers: Headers,
    pipeline: dict[str, Path],
    session: Session,
) -> None:
    alice = make_user()
    auth = headers(alice)
    quotas.set_quota(
        session, alice.id, max_concurrent_runs=1, max_jobs_per_run=None, max_storage_bytes=None
    )
    session.commit()
    assert _submit(api, auth, pipeline).status_code == 202
    busy = _submit(api, auth, pipeline)
    assert busy.status_code == 429
    assert busy.json()["error"]["code"] == "quota_exceeded"
    assert "1 at once" in busy.json()["error"]["message"]

    quotas.set_quota(
        session, alice.id, max_concurrent_runs=None, max_jobs_per_run=2, max_storage_bytes=None
    )
    session.commit()
    too_big = _submit(api, auth, pipeline)
    assert too_big.status_code == 409
    assert "3 jobs" in too_big.json()["error"]["message"]


def test_default_catalogs_are_validated_and_used_by_submissions(
    api: TestClient,
    make_user: MakeUser,
    headers: Headers,
    pipeline: dict[str, Path],
    settings: Settings,
) -> None:
    auth = headers(make_user())
    bad = api.put(
        "/api/v1/transformations",
        headers={**auth, "Content-Type": "application/yaml"},
        content="pegasus: '5.0'\ntransformations: 7\n",
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "transformations"
    assert api.get("/api/v1/transformations", headers=auth).status_code == 404

    tc = pipeline["transformations"].read_text()
    put = api.put("/api/v1/transformations", headers=auth, json={"content": tc})
    assert put.status_code == 200 and put.json()["content"] == tc
    assert api.get("/api/v1/transformations", headers=auth).json()["content"] == tc

    docs = {"workflow": pipeline["workflow"], "replicas": pipeline["replicas"]}
    response = _submit(api, auth, docs)
    assert response.status_code == 202, response.text
    stored = settings.data_dir / "runs" / response.json()["id"] / "inputs" / "transformations.yml"
    assert stored.read_text() == tc

    assert api.delete("/api/v1/transformations", headers=auth).status_code == 204
    assert _submit(api, auth, docs).status_code == 422


def test_sites_as_names_selects_execution_sites(
    api: TestClient, make_user: MakeUser, headers: Headers, pipeline: dict[str, Path], sent: Sent
) -> None:
    auth = headers(make_user())
    as_form = api.post(
        "/api/v1/workflows", headers=auth, files=multipart(pipeline), data={"sites": "local"}
    )
    as_json = api.post(
        "/api/v1/workflows",
        headers=auth,
        json={**{k: p.read_text() for k, p in pipeline.items()}, "sites": ["local"]},
    )
    assert as_form.status_code == 202, as_form.text
    assert as_json.status_code == 202, as_json.text
    assert len(sent) == 2
