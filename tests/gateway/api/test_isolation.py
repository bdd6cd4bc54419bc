"""Isolation matrix: user B never sees user A's runs, jobs, files, events, tokens or catalogs —
404 (not 403) for every one of A's objects, through API tokens and browser sessions alike — and
a credential without the needed scope gets 403.

A's run is real (planned, run and monitored in-process), so every URL below answers 200 to A:
B's 404 is about ownership, not about missing data. A also owns a Pegasus run imported through
`POST /api/v1/workflows/import`, held to the same rules.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from gateway.services import tokens as token_service
from gateway.services import users as user_service
from gateway.settings import Settings
from tests.gateway.api.conftest import Embedded, make_embedded
from tests.gateway.api.test_import_api import tar_gz
from tests.gateway.pegasus_workflows import build_pipeline, multipart
from tests.parity.conftest import copy_without_stampede

pytestmark = pytest.mark.slow


@dataclass
class World:
    e: Embedded
    run_id: str
    imported_id: str
    token_id: int
    a: dict[str, str]
    b: dict[str, str]
    b_user_id: int


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, make_settings: Callable[..., Settings]
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("isolation")
    for e in make_embedded(tmp / "data", make_settings):
        _, a = e.user("alice")
        b_user, b = e.user("bob")
        docs = build_pipeline(tmp / "wf")
        sites = "pegasus: '5.0'\nsites:\n- name: local\n  directories: []\n"
        assert e.client.put("/api/v1/sites", headers=a, content=sites).status_code == 200
        run = e.client.post(
            "/api/v1/workflows", headers=a, files=multipart(docs), data={"execution_sites": "local"}
        )
        assert run.status_code == 202, run.text
        run_id = run.json()["id"]
        deadline = time.monotonic() + 90
        while e.client.get(f"/api/v1/workflows/{run_id}", headers=a).json()["state"] != "succeeded":
            assert time.monotonic() < deadline, "A's run did not succeed"
            time.sleep(0.5)
        archive = tar_gz(copy_without_stampede("process_wf_failure", tmp), "run0001")
        imported = e.client.post(
            "/api/v1/workflows/import", headers=a, files={"archive": ("run.tgz", archive)}
        )
        assert imported.status_code == 201, imported.text
        token_id = e.client.post(
            "/api/v1/tokens", headers=a, json={"name": "a2", "scopes": ["workflows:read"]}
        ).json()["id"]
        yield World(e, run_id, imported.json()["id"], token_id, a, b, b_user.id)


READS = [
    "/api/v1/workflows/{run}",
    "/api/v1/workflows/{run}/jobs",
    "/api/v1/workflows/{run}/jobs/join_ID3",
    "/api/v1/workflows/{run}/graph",
    "/api/v1/workflows/{run}/statistics",
    "/api/v1/workflows/{run}/analysis",
    "/api/v1/workflows/{run}/files",
    "/api/v1/workflows/{run}/files/f.out",
    "/api/v1/workflows/{run}/events",
]
IMPORTED_READS = [
    "/api/v1/workflows/{run}",
    "/api/v1/workflows/{run}/jobs",
    "/api/v1/workflows/{run}/jobs/ls_ID0000001",
    "/api/v1/workflows/{run}/graph",
    "/api/v1/workflows/{run}/statistics",
    "/api/v1/workflows/{run}/analysis",
    "/api/v1/workflows/{run}/events",
]
WRITES = [
    ("POST", "/api/v1/workflows/{run}/cancel"),
    ("POST", "/api/v1/workflows/{run}/retry"),
    ("DELETE", "/api/v1/tokens/{token}"),
]


def _session_client(w: World) -> tuple[TestClient, dict[str, str]]:
    """A browser logged in as B (one-time login link) and its CSRF header for writes."""
    client = TestClient(w.e.app)
    link = w.e.app.state.login_links.issue(w.b_user_id)
    home = client.get(f"/login?token={link}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf is not None
    return client, {"X-CSRF-Token": csrf[1]}


@pytest.mark.parametrize("path", READS)
def test_owner_reads_and_others_get_404(world: World, path: str) -> None:
    url = path.format(run=world.run_id)
    assert world.e.client.get(url, headers=world.a).status_code == 200

    by_token = world.e.client.get(url, headers=world.b)
    client, _ = _session_client(world)
    by_session = client.get(url)

    for response in (by_token, by_session):
        assert response.status_code == 404, (url, response.text)
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", IMPORTED_READS)
def test_imported_run_is_as_private_as_a_native_one(world: World, path: str) -> None:
    url = path.format(run=world.imported_id)
    assert world.e.client.get(url, headers=world.a).status_code == 200
    client, csrf = _session_client(world)
    for response in (world.e.client.get(url, headers=world.b), client.get(url)):
        assert response.status_code == 404, (url, response.text)
    for method, action in (("POST", "/cancel"), ("POST", "/retry"), ("DELETE", "")):
        url = f"/api/v1/workflows/{world.imported_id}{action}"
        assert world.e.client.request(method, url, headers=world.b).status_code == 404
        assert client.request(method, url, headers=csrf).status_code == 404
    assert world.e.client.get(url, headers=world.a).status_code == 200


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_others_cannot_act_on_owned_objects(world: World, method: str, path: str) -> None:
    url = path.format(run=world.run_id, token=world.token_id)
    client, csrf = _session_client(world)

    by_token = world.e.client.request(method, url, headers=world.b)
    by_session = client.request(method, url, headers=csrf)

    assert by_token.status_code == 404, by_token.text
    assert by_session.status_code == 404, by_session.text
    # A's objects are untouched.
    assert (
        world.e.client.get(f"/api/v1/workflows/{world.run_id}", headers=world.a).json()["state"]
        == "succeeded"
    )
    a2 = world.e.client.get("/api/v1/tokens", headers=world.a).json()["data"]
    assert any(t["id"] == world.token_id and t["revoked_at"] is None for t in a2)


def test_deleting_someone_elses_run_is_404_and_lists_do_not_show_it(world: World) -> None:
    url = f"/api/v1/workflows/{world.run_id}"
    assert world.e.client.delete(url, headers=world.b).status_code == 404
    assert world.e.client.get(url, headers=world.a).status_code == 200
    b_runs = world.e.client.get("/api/v1/workflows", headers=world.b).json()["data"]
    assert b_runs == []
    a_runs = world.e.client.get("/api/v1/workflows", headers=world.a).json()["data"]
    assert sorted(r["id"] for r in a_runs) == sorted([world.run_id, world.imported_id])
    b_tokens = world.e.client.get("/api/v1/tokens", headers=world.b).json()["data"]
    assert world.token_id not in [t["id"] for t in b_tokens]


def test_catalogs_are_per_user(world: World) -> None:
    assert world.e.client.get("/api/v1/sites", headers=world.a).status_code == 200
    assert world.e.client.get("/api/v1/sites", headers=world.b).status_code == 404
    client, _ = _session_client(world)
    assert client.get("/api/v1/sites").status_code == 404
    assert world.e.client.delete("/api/v1/sites", headers=world.b).status_code == 404
    assert world.e.client.get("/api/v1/sites", headers=world.a).status_code == 200


def test_session_writes_need_the_csrf_header(world: World) -> None:
    client, csrf = _session_client(world)
    assert client.post("/api/v1/tokens", json={"name": "x"}).status_code == 401
    made = client.post("/api/v1/tokens", json={"name": "x"}, headers=csrf)
    assert made.status_code == 201


@pytest.mark.parametrize(
    ("scopes", "method", "path", "body"),
    [
        (["workflows:read"], "POST", "/api/v1/workflows/{run}/cancel", None),
        (["workflows:read"], "POST", "/api/v1/workflows", {"workflow": "x"}),
        (["workflows:read"], "POST", "/api/v1/workflows/import", {"archive": "x"}),
        (["workflows:read"], "PUT", "/api/v1/sites", {"content": "x"}),
        (["provision:write"], "GET", "/api/v1/workflows", None),
        (["provision:write"], "GET", "/api/v1/workflows/{run}/jobs", None),
        (["workflows:write"], "GET", "/api/v1/workflows/{run}/files", None),
        (["workflows:read", "workflows:write"], "GET", "/api/v1/admin/users", None),
    ],
)
def test_a_token_without_the_scope_gets_403(
    world: World, scopes: list[str], method: str, path: str, body: dict[str, str] | None
) -> None:
    with world.e.app.state.db.session_scope() as s:
        alice = user_service.get_user_by_name_or_raise(s, "alice")
        value = token_service.create_token(s, user=alice, scopes=scopes).value
    url = path.format(run=world.run_id)
    response = world.e.client.request(
        method, url, headers={"Authorization": f"Bearer {value}"}, json=body
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


def test_admin_sees_everyone_but_through_admin_routes_only(world: World) -> None:
    _, admin = world.e.user("root_admin", is_admin=True)
    all_runs = world.e.client.get("/api/v1/admin/workflows", headers=admin).json()["data"]
    assert sorted(r["id"] for r in all_runs) == sorted([world.run_id, world.imported_id])
    assert {r["owner"] for r in all_runs} == {"alice"}
    # The ordinary API stays personal, even for admins.
    mine = world.e.client.get(f"/api/v1/workflows/{world.run_id}", headers=admin)
    assert mine.status_code == 404
    users = world.e.client.get("/api/v1/admin/users", headers=admin).json()
    assert {"alice", "bob", "root_admin"} <= {u["name"] for u in users}
