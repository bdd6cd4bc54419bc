"""Bearer tokens on `GET /api/v1/me`: the right token works, every wrong one gets a JSON 401."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.db.models import ApiToken, User
from gateway.db.session import Database
from gateway.deps import Principal, require_scope
from gateway.services import tokens as token_service
from gateway.services import users as user_service
from gateway.settings import Settings

MakeUser = Callable[..., User]
MakeToken = Callable[..., str]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def assert_json_401(response: object, message_part: str) -> None:
    assert response.status_code == 401  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["error"]["code"] == "unauthenticated"
    assert message_part in body["error"]["message"]
    assert response.headers["www-authenticate"] == "Bearer"  # type: ignore[attr-defined]


def test_created_token_authenticates(
    client: TestClient, alice: User, make_token: MakeToken
) -> None:
    token = make_token(alice)

    response = client.get("/api/v1/me", headers=bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == alice.name
    assert body["email"] == "alice@example.org"
    assert body["is_admin"] is False
    assert body["auth"] == "token"
    assert body["scopes"] == ["workflows:read", "workflows:write", "provision:write"]


def test_use_is_recorded_on_the_token(
    client: TestClient, session: Session, alice: User, make_token: MakeToken
) -> None:
    token = make_token(alice)
    client.get("/api/v1/me", headers=bearer(token))

    row = session.scalars(select(ApiToken).where(ApiToken.user_id == alice.id)).one()
    assert row.last_used_at is not None


def test_revoked_token_is_rejected(
    client: TestClient, session: Session, alice: User, make_token: MakeToken
) -> None:
    token = make_token(alice)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    row = session.scalars(select(ApiToken).where(ApiToken.user_id == alice.id)).one()
    token_service.revoke_token(session, token_id=row.id)
    session.commit()

    assert_json_401(client.get("/api/v1/me", headers=bearer(token)), "revoked")


def test_expired_token_is_rejected(
    client: TestClient, session: Session, alice: User, make_token: MakeToken
) -> None:
    token = make_token(alice, expires_in_days=1)
    row = session.scalars(select(ApiToken).where(ApiToken.user_id == alice.id)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()

    assert_json_401(client.get("/api/v1/me", headers=bearer(token)), "expired")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # right prefix, wrong secret
        lambda t: "aerie_00000000_" + t.split("_", 2)[2],  # right secret, wrong prefix
        lambda t: "not-a-token",
        lambda t: "aerie__",
    ],
    ids=["wrong-secret", "wrong-prefix", "garbage", "empty-parts"],
)
def test_wrong_token_is_rejected(
    client: TestClient, alice: User, make_token: MakeToken, mangle: object
) -> None:
    token = make_token(alice)

    response = client.get("/api/v1/me", headers=bearer(mangle(token)))  # type: ignore[operator]

    assert_json_401(response, "invalid token")


def test_missing_or_malformed_header_is_rejected(client: TestClient) -> None:
    assert_json_401(client.get("/api/v1/me"), "authentication required")
    assert_json_401(
        client.get("/api/v1/me", headers={"Authorization": "Basic YWxpY2U6cHc="}),
        "Bearer",
    )
    assert_json_401(client.get("/api/v1/me", headers={"Authorization": "Bearer "}), "Bearer")


def test_disabled_users_token_is_refused(
    client: TestClient, session: Session, alice: User, make_token: MakeToken
) -> None:
    token = make_token(alice)
    alice.disabled = True
    session.commit()

    response = client.get("/api/v1/me", headers=bearer(token))

    assert response.status_code == 403
    assert response.json()["error"] == {"code": "forbidden", "message": "this account is disabled"}


def test_only_the_hash_is_stored(session: Session, alice: User, make_token: MakeToken) -> None:
    token = make_token(alice)

    row = session.scalars(select(ApiToken).where(ApiToken.user_id == alice.id)).one()
    stored = [str(getattr(row, column.key)) for column in ApiToken.__table__.columns]
    assert not any(token in value for value in stored)
    assert not any(token.split("_", 2)[2] in value for value in stored)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_admin_scope_is_only_for_admins(session: Session, make_user: MakeUser) -> None:
    plain = make_user()
    admin = make_user(is_admin=True)

    with pytest.raises(Exception, match="not an admin"):
        token_service.create_token(session, user=plain, scopes=["admin"])
    created = token_service.create_token(session, user=admin, scopes=["admin workflows:read"])
    assert created.token.scopes == ["workflows:read", "admin"]


def test_unknown_scope_is_named(session: Session, alice: User) -> None:
    with pytest.raises(Exception, match="unknown scope.*workflow:reed"):
        token_service.create_token(session, user=alice, scopes=["workflow:reed"])


def test_require_scope_refuses_a_token_without_it(
    app: FastAPI, client: TestClient, alice: User, make_token: MakeToken
) -> None:
    @app.get("/api/v1/_test/write")
    def needs_write(
        principal: Principal = Depends(require_scope("workflows:write")),
    ) -> dict[str, str]:
        return {"user": principal.user.name}

    reader = make_token(alice, scopes=["workflows:read"])
    writer = make_token(alice, scopes=["workflows:write"])

    refused = client.get("/api/v1/_test/write", headers=bearer(reader))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert "workflows:write" in refused.json()["error"]["message"]
    assert client.get("/api/v1/_test/write", headers=bearer(writer)).json() == {"user": alice.name}


def test_unknown_api_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_token_on_sqlite(sqlite_client: TestClient, sqlite_app: FastAPI) -> None:
    """The embedded default authenticates the same way (and rejects revoked tokens)."""
    database: Database = sqlite_app.state.db
    with database.session_scope() as session:
        user = user_service.create_user(session, name="bob")
        created = token_service.create_token(session, user=user, expires_in_days=1)
        token, token_id = created.value, created.token.id

    assert sqlite_client.get("/api/v1/me", headers=bearer(token)).json()["name"] == "bob"

    with database.session_scope() as session:
        token_service.revoke_token(session, token_id=token_id)
    assert_json_401(sqlite_client.get("/api/v1/me", headers=bearer(token)), "revoked")

    with database.session_scope() as session:
        row = token_service.get_token_or_raise(session, token_id)
        row.revoked_at = None
        row.expires_at = utcnow() - timedelta(minutes=1)
    assert_json_401(sqlite_client.get("/api/v1/me", headers=bearer(token)), "expired")


def test_settings_fixture_is_postgres(settings: Settings) -> None:
    """The main suite runs on PostgreSQL, as production does."""
    assert settings.database_url.startswith("postgresql")
