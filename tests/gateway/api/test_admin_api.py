"""`/api/v1/admin`: users (disable, make admin), quotas (default and per user)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.gateway.api.conftest import Headers
from tests.gateway.conftest import MakeUser

ADMIN = ["workflows:read", "workflows:write", "admin"]


def test_disabling_a_user_locks_out_their_tokens(
    api: TestClient, make_user: MakeUser, headers: Headers
) -> None:
    admin = headers(make_user(is_admin=True), scopes=ADMIN)
    bob = make_user()
    bob_auth = headers(bob)
    assert api.get("/api/v1/me", headers=bob_auth).status_code == 200

    off = api.patch(f"/api/v1/admin/users/{bob.name}", headers=admin, json={"disabled": True})

    assert off.status_code == 200 and off.json()["disabled"] is True
    locked = api.get("/api/v1/me", headers=bob_auth)
    assert locked.status_code == 403
    assert "disabled" in locked.json()["error"]["message"]
    api.patch(f"/api/v1/admin/users/{bob.name}", headers=admin, json={"disabled": False})
    assert api.get("/api/v1/me", headers=bob_auth).status_code == 200


def test_making_admins_and_keeping_the_last_one(
    api: TestClient, make_user: MakeUser, headers: Headers
) -> None:
    root = make_user(is_admin=True)
    admin = headers(root, scopes=ADMIN)
    carol = make_user()
    listed = api.get("/api/v1/admin/users", headers=admin).json()
    assert {root.name, carol.name} <= {u["name"] for u in listed}

    promoted = api.patch(
        f"/api/v1/admin/users/{carol.name}", headers=admin, json={"is_admin": True}
    )
    assert promoted.json()["is_admin"] is True
    carol_admin = headers(carol, scopes=ADMIN)
    assert api.get("/api/v1/admin/users", headers=carol_admin).status_code == 200
    # Demote root while carol remains; then carol cannot demote herself (the last admin).
    assert (
        api.patch(f"/api/v1/admin/users/{root.name}", headers=carol_admin, json={"is_admin": False})
    ).status_code == 200
    last = api.patch(
        f"/api/v1/admin/users/{carol.name}", headers=carol_admin, json={"is_admin": False}
    )
    assert last.status_code == 409  # each test sees only its own users (rolled back)
    assert "last enabled admin" in last.json()["error"]["message"]
    assert (
        api.patch("/api/v1/admin/users/nobody_here", headers=carol_admin, json={}).status_code
        == 404
    )


def test_quotas_default_and_per_user(
    api: TestClient, make_user: MakeUser, headers: Headers
) -> None:
    admin = headers(make_user(is_admin=True), scopes=ADMIN)
    dave = make_user()
    limits = {"max_concurrent_runs": 3, "max_jobs_per_run": 1000, "max_storage_bytes": None}

    assert api.put("/api/v1/admin/quotas/default", headers=admin, json=limits).status_code == 200
    assert api.get(f"/api/v1/admin/quotas/{dave.name}", headers=admin).json() == limits
    own = {**limits, "max_concurrent_runs": 1}
    assert api.put(f"/api/v1/admin/quotas/{dave.name}", headers=admin, json=own).status_code == 200
    assert api.get(f"/api/v1/admin/quotas/{dave.name}", headers=admin).json() == own
    assert api.delete(f"/api/v1/admin/quotas/{dave.name}", headers=admin).status_code == 204
    assert api.get(f"/api/v1/admin/quotas/{dave.name}", headers=admin).json() == limits
    negative = api.put("/api/v1/admin/quotas/default", headers=admin, json={"max_jobs_per_run": -1})
    assert negative.status_code == 422
    assert api.get("/api/v1/admin/quotas/default", headers=headers(dave)).status_code == 403
