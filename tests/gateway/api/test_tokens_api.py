"""`/api/v1/tokens`: create (secret shown once), list (prefix only), revoke; scopes and expiry."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.gateway.api.conftest import Headers
from tests.gateway.conftest import MakeUser


def test_create_list_use_and_revoke(api: TestClient, make_user: MakeUser, headers: Headers) -> None:
    alice = make_user()
    auth = headers(alice)

    created = api.post(
        "/api/v1/tokens",
        headers=auth,
        json={"name": "laptop", "scopes": ["workflows:read"], "expires_in_days": 7},
    )

    assert created.status_code == 201
    body = created.json()
    secret = body["token"]
    assert secret.startswith("aerie_") and body["prefix"] in secret
    assert body["scopes"] == ["workflows:read"]
    assert body["expires_at"] is not None
    new_auth = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/me", headers=new_auth).json()["scopes"] == ["workflows:read"]

    listed = api.get("/api/v1/tokens", headers=auth).json()["data"]
    assert [t["name"] for t in listed] == ["default", "laptop"]
    assert all("token" not in t for t in listed)

    assert api.delete(f"/api/v1/tokens/{body['id']}", headers=auth).status_code == 204
    refused = api.get("/api/v1/me", headers=new_auth)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "token has been revoked"


def test_a_token_cannot_mint_a_stronger_token(
    api: TestClient, make_user: MakeUser, headers: Headers
) -> None:
    alice = make_user()
    weak = headers(alice, scopes=["workflows:read"])

    response = api.post("/api/v1/tokens", headers=weak, json={"scopes": ["workflows:write"]})

    assert response.status_code == 403
    assert "workflows:write" in response.json()["error"]["message"]


def test_admin_scope_needs_an_admin_and_unknown_scopes_are_422(
    api: TestClient, make_user: MakeUser, headers: Headers
) -> None:
    admin = make_user(is_admin=True)
    admin_auth = headers(admin, scopes=["workflows:read", "admin"])
    user_auth = headers(make_user())

    made = api.post("/api/v1/tokens", headers=admin_auth, json={"scopes": ["admin"]})
    assert made.status_code == 201 and made.json()["scopes"] == ["admin"]
    assert (
        api.post("/api/v1/tokens", headers=user_auth, json={"scopes": ["admin"]}).status_code == 403
    )
    bad = api.post("/api/v1/tokens", headers=user_auth, json={"scopes": ["root"]})
    assert bad.status_code == 422
    assert "unknown scope" in bad.json()["error"]["message"]
    assert (
        api.post("/api/v1/tokens", headers=user_auth, json={"expires_in_days": 0}).status_code
        == 422
    )


def test_tokens_of_others_are_not_found(
    api: TestClient, make_user: MakeUser, headers: Headers
) -> None:
    alice_auth, bob_auth = headers(make_user()), headers(make_user())
    alice_token = api.post("/api/v1/tokens", headers=alice_auth, json={}).json()

    assert api.delete(f"/api/v1/tokens/{alice_token['id']}", headers=bob_auth).status_code == 404
    assert alice_token["id"] not in [
        t["id"] for t in api.get("/api/v1/tokens", headers=bob_auth).json()["data"]
    ]
    me = {"Authorization": f"Bearer {alice_token['token']}"}
    assert api.get("/api/v1/me", headers=me).status_code == 200
