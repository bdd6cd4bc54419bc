"""The one-time login link logs the visitor in once, and never again."""

from __future__ import annotations

import base64
import json
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import AuditEntry, User
from gateway.deps import PrincipalDep
from gateway.main import SESSION_COOKIE
from gateway.services import users as user_service


def issue_link(app: FastAPI, user: User) -> str:
    return f"/login?token={app.state.login_links.issue(user.id)}"


def test_link_logs_in_once_and_never_again(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    admin = user_service.ensure_admin(session)
    session.commit()
    link = issue_link(app, admin)

    first = client.get(link, follow_redirects=False)

    assert first.status_code == 303
    assert first.headers["location"] == "/"
    cookie = first.headers["set-cookie"].lower()
    assert f"{SESSION_COOKIE}=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    home = client.get("/")
    assert f"Logged in as <strong>{admin.name}</strong>" in home.text

    stranger = TestClient(app)
    second = stranger.get(link, follow_redirects=False)
    assert second.status_code == 403
    assert "already been used" in second.text
    assert SESSION_COOKIE not in second.headers.get("set-cookie", "")
    assert "Not logged in" in stranger.get("/").text


def test_login_is_audited_and_stamped(app: FastAPI, client: TestClient, session: Session) -> None:
    admin = user_service.ensure_admin(session)
    session.commit()
    client.get(issue_link(app, admin))

    session.refresh(admin)
    assert admin.last_login_at is not None
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.user_id == admin.id)).all()
    assert "login.link" in actions


def test_unknown_or_missing_token_does_not_log_in(client: TestClient) -> None:
    bad = client.get("/login?token=made-up", follow_redirects=False)
    missing = client.get("/login", follow_redirects=False)

    assert bad.status_code == 403
    assert missing.status_code == 403
    assert "Not logged in" in client.get("/").text


def test_home_page_without_login(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Not logged in" in page.text
    assert "one-time login link" in page.text


def test_logout_ends_the_session(app: FastAPI, client: TestClient, session: Session) -> None:
    admin = user_service.ensure_admin(session)
    session.commit()
    client.get(issue_link(app, admin))
    assert "Logged in as" in client.get("/").text

    page = client.get("/").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    refused = client.post("/logout", follow_redirects=False)  # no CSRF token: refused
    assert refused.status_code == 403
    assert "Logged in as" in client.get("/").text

    response = client.post("/logout", data={"csrf_token": csrf[1]}, follow_redirects=False)

    assert response.status_code == 303
    assert "Not logged in" in client.get("/").text


def test_browser_session_reads_the_api_but_cannot_write(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    """Cookie sessions are accepted for safe methods only (no cross-site writes)."""
    admin = user_service.ensure_admin(session)
    session.commit()
    client.get(issue_link(app, admin))

    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["auth"] == "session"
    assert "admin" in me.json()["scopes"]

    @app.post("/api/v1/_test/write")
    def write(principal: PrincipalDep) -> dict[str, str]:
        return {"user": principal.user.name}

    refused = client.post("/api/v1/_test/write")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"


def test_a_forged_cookie_is_ignored(app: FastAPI, session: Session) -> None:
    admin = user_service.ensure_admin(session)
    session.commit()
    client = TestClient(app)
    # {"user_id": <admin id>}, signed with a key that is not the server's
    payload = base64.b64encode(json.dumps({"user_id": admin.id}).encode())
    forged = TimestampSigner("not-the-secret").sign(payload).decode()
    client.cookies.set(SESSION_COOKIE, forged)

    assert "Not logged in" in client.get("/").text
    assert client.get("/api/v1/me").status_code == 401


def test_link_on_sqlite(sqlite_app: FastAPI, sqlite_client: TestClient) -> None:
    with sqlite_app.state.db.session_scope() as db:
        admin = user_service.ensure_admin(db)
        admin_id, name = admin.id, admin.name
    token = sqlite_app.state.login_links.issue(admin_id)

    assert (
        f"Logged in as <strong>{name}</strong>" in sqlite_client.get(f"/login?token={token}").text
    )
    assert TestClient(sqlite_app).get(f"/login?token={token}").status_code == 403
