"""The site policy where submissions are accepted (POST /api/v1/workflows, the run service that
`aerie run` uses) and again in the worker before planning: a confined user's forbidden file is a
422 naming file, line and field, an admin is trusted, and a run whose owner was demoted or whose
stored catalogs were edited fails in the worker instead of running."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from gateway.db import migrate
from gateway.db.models import Run, User
from gateway.db.session import Database
from gateway.errors import InvalidInput
from gateway.services import runs as run_service
from gateway.services import users as user_service
from gateway.settings import Settings
from gateway.tasks import TaskQueue
from tests.gateway.api.conftest import Embedded, make_embedded
from tests.gateway.pegasus_workflows import build_pipeline, multipart
from worker.tasks import runs as tasks


def _strict(tmp: Path) -> dict[str, Any]:
    """Inputs may come from `tmp` (which also holds the data dir), programs from tmp too."""
    return {
        "input_roots": [str(tmp)],
        "executable_roots": ["/usr/bin", "/bin", str(tmp)],
    }


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def send(self, name: str, args: Sequence[Any]) -> None:
        self.sent.append((name, tuple(args)))

    def start(self) -> None: ...

    def stop(self) -> None: ...


@pytest.fixture
def site(tmp_path: Path, make_settings: Callable[..., Settings]) -> Iterator[Embedded]:
    settings_dir = tmp_path / "data"
    yield from make_embedded(settings_dir, lambda d: make_settings(d, policy=_strict(tmp_path)))


def _with_replica(docs: dict[str, Path], pfn: str) -> dict[str, Path]:
    rc = docs["replicas"]
    rc.write_text(
        f"pegasus: '5.0'\nreplicas:\n  - lfn: f.in\n    pfns:\n      - site: local\n"
        f"        pfn: {pfn}\n"
    )
    return docs


def test_a_regular_user_naming_a_forbidden_file_gets_422_with_its_place(
    site: Embedded, tmp_path: Path
) -> None:
    _, bob = site.user("bob")
    docs = _with_replica(build_pipeline(tmp_path / "wf"), "file:///etc/shadow")

    response = site.client.post(
        "/api/v1/workflows", headers=bob, files=multipart(docs), data={"execution_sites": "local"}
    )

    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert details == [
        {
            "field": "replicas",
            "file": "replicas.yml",
            "line": 6,
            "path": "replicas[0].pfns[0].pfn",
            "message": "file:///etc/shadow is outside the directories you may read",
            "code": "policy",
        }
    ]
    runs_dir = site.settings.data_dir / "runs"
    assert not list(runs_dir.iterdir()) if runs_dir.exists() else True


def test_the_secret_key_is_refused_although_the_data_dir_is_under_an_input_root(
    site: Embedded, tmp_path: Path
) -> None:
    _, bob = site.user("bob")
    secret = site.settings.data_dir / "secret_key"
    link = tmp_path / "innocent.txt"
    link.symlink_to(secret)
    for pfn in (str(secret), f"file://{tmp_path}/wf/../data/secret_key", str(link)):
        docs = _with_replica(build_pipeline(tmp_path / "wf"), pfn)
        response = site.client.post(
            "/api/v1/workflows",
            headers=bob,
            files=multipart(docs),
            data={"execution_sites": "local"},
        )
        assert response.status_code == 422, (pfn, response.text)
        assert response.json()["error"]["details"][0]["code"] == "policy"


def test_catalog_files_named_by_properties_must_be_uploaded(site: Embedded, tmp_path: Path) -> None:
    _, bob = site.user("bob")
    docs = build_pipeline(tmp_path / "wf")
    props = tmp_path / "wf" / "pegasus.properties"
    props.write_text(f"pegasus.catalog.site.file = {site.settings.data_dir}/aerie.db\n")
    docs["properties"] = props

    response = site.client.post(
        "/api/v1/workflows", headers=bob, files=multipart(docs), data={"execution_sites": "local"}
    )

    assert response.status_code == 422
    (detail,) = response.json()["error"]["details"]
    assert (detail["file"], detail["line"], detail["path"]) == (
        "pegasus.properties",
        1,
        "pegasus.catalog.site.file",
    )


def test_an_admin_is_trusted(site: Embedded, tmp_path: Path) -> None:
    _, root = site.user("root", is_admin=True)
    forbidden_for_others = tmp_path / "elsewhere"
    forbidden_for_others.mkdir()
    tool = forbidden_for_others / "f.in"
    tool.write_text("x\n")
    docs = _with_replica(build_pipeline(tmp_path / "wf"), "file:///etc/hostname")

    response = site.client.post(
        "/api/v1/workflows", headers=root, files=multipart(docs), data={"execution_sites": "local"}
    )

    assert response.status_code == 202, response.text


@pytest.fixture
def env(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> Iterator[tuple[Settings, Database]]:
    settings = make_settings(tmp_path / "data", policy=_strict(tmp_path))
    migrate.upgrade(settings.database_url)
    db = Database.from_settings(settings)
    yield settings, db
    db.dispose()


def _submit(
    settings: Settings, db: Database, docs: dict[str, Path], *, admin: bool, **options: Any
) -> str:
    with db.session_scope() as s:
        user = user_service.create_user(s, name="carol", is_admin=admin)
        sub = run_service.Submission(
            documents={k: p.read_text() for k, p in docs.items()},
            execution_sites=["local"],
            plan_options=options,
        )
        return run_service.create_run(s, settings, TaskQueue(_Recorder()), user, sub).id


def _error(db: Database, run_id: str) -> tuple[str, str | None]:
    with db.session_scope() as s:
        run = s.get(Run, run_id)
        assert run is not None
        return run.state.value, run.error


def test_the_worker_refuses_a_run_whose_owner_was_demoted(
    env: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, db = env
    docs = _with_replica(build_pipeline(tmp_path / "wf"), "file:///etc/hostname")
    run_id = _submit(settings, db, docs, admin=True)
    with db.session_scope() as s:
        s.execute(update(User).values(is_admin=False))

    assert tasks.plan_run(settings, run_id) == "failed"

    state, error = _error(db, run_id)
    assert state == "failed"
    assert error and "replicas.yml:6: replicas[0].pfns[0].pfn: file:///etc/hostname is " in error
    assert not (settings.data_dir / "runs" / run_id / "submit").exists()


def test_the_worker_refuses_catalogs_edited_after_acceptance(
    env: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, db = env
    run_id = _submit(settings, db, build_pipeline(tmp_path / "wf"), admin=False)
    stored = settings.data_dir / "runs" / run_id / "inputs" / "replicas.yml"
    stored.write_text(
        stored.read_text().replace(str(tmp_path / "wf" / "f.in"), str(settings.data_dir / "x"))
    )

    assert tasks.plan_run(settings, run_id) == "failed"
    assert "outside the directories you may read" in (_error(db, run_id)[1] or "")


def test_reuse_of_another_run_directory_is_refused(
    env: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, db = env
    other = settings.data_dir / "runs" / "someone-else" / "submit"
    other.mkdir(parents=True)
    with pytest.raises(InvalidInput) as caught:
        _submit(settings, db, build_pipeline(tmp_path / "wf"), admin=False, reuse=[str(other)])
    assert caught.value.details and caught.value.details[0]["path"] == "reuse[0]"
