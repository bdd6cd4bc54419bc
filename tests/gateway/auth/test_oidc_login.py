"""OpenID Connect login against a real provider process, over real HTTP with a cookie jar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db import migrate
from gateway.db.models import AuditEntry, User
from gateway.main import create_app
from gateway.settings import Settings
from tests.gateway.live import csrf_of, log_in, serve
from tests.oidc_provider import free_port, running_provider

pytestmark = pytest.mark.e2e

USERS = {
    "alice": {"sub": "alice-123", "email": "alice@uni.example.edu", "name": "Alice Liddell"},
    "alice2": {"sub": "alice-999", "email": "alice@other.example.org", "name": "Other Alice"},
    "mallory": {"sub": "m-1", "email": "m@uni.example.edu", "bad_signature": True},
    "eve": {"sub": "eve-1", "email": "eve@blocked.example.com", "name": "Eve"},
}


@dataclass
class Gateway:
    url: str
    issuer: str
    settings: Settings

    def users(self) -> list[User]:
        app_db = create_app(self.settings).state.db
        with app_db.session_scope() as s:
            return list(s.scalars(select(User).order_by(User.id)))


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, make_settings: Callable[..., Settings]
) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("oidc")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clients = {"aerie": {"client_secret": "s3cret", "redirect_uris": [f"{base}/auth/callback"]}}
    with running_provider(tmp, clients=clients, users=USERS) as issuer:
        settings = make_settings(
            tmp / "data",
            base_url=base,
            oidc_providers=[
                {
                    "name": "testidp",
                    "issuer": issuer,
                    "client_id": "aerie",
                    "client_secret": "s3cret",
                },
                {  # the same provider spoken to as plain OAuth 2 (how GitHub is configured)
                    "name": "plain",
                    "kind": "oauth2",
                    "issuer": "https://plain-oauth.example",
                    "authorize_url": f"{issuer}/authorize",
                    "token_url": f"{issuer}/token",
                    "userinfo_url": f"{issuer}/userinfo",
                    "scopes": ["email"],
                    "client_id": "aerie",
                    "client_secret": "s3cret",
                },
            ],
            login_deny=["blocked.example.com"],
        )
        migrate.upgrade(settings.database_url)
        with serve(create_app(settings), port):
            yield Gateway(base, issuer, settings)


def _browser() -> httpx.Client:
    return httpx.Client(follow_redirects=True, timeout=20)


def test_first_login_creates_the_user_from_the_claims(gateway: Gateway) -> None:
    with _browser() as browser:
        landed = log_in(browser, gateway.url, "testidp", "alice")

        assert landed.status_code == 200
        assert str(landed.url) == f"{gateway.url}/"
        assert "Logged in as <strong>alice</strong>" in landed.text
        me = browser.get(f"{gateway.url}/api/v1/me").json()
    assert me["name"] == "alice"
    assert me["email"] == "alice@uni.example.edu"
    assert me["auth"] == "session"
    [alice] = [u for u in gateway.users() if u.oidc_subject == "alice-123"]
    assert alice.oidc_issuer == gateway.issuer
    assert alice.last_login_at is not None


def test_second_login_finds_the_same_user_and_same_name_gets_a_new_one(gateway: Gateway) -> None:
    for _ in range(2):
        with _browser() as browser:
            log_in(browser, gateway.url, "testidp", "alice")
    with _browser() as browser:
        log_in(browser, gateway.url, "testidp", "alice2")
        other = browser.get(f"{gateway.url}/api/v1/me").json()
    subjects = [u.oidc_subject for u in gateway.users()]
    assert subjects.count("alice-123") == 1
    assert other["name"] == "alice2"  # 'alice' is taken by a different identity
    assert other["email"] == "alice@other.example.org"


def test_id_token_with_a_bad_signature_is_refused(gateway: Gateway) -> None:
    with _browser() as browser:
        landed = log_in(browser, gateway.url, "testidp", "mallory")
        assert landed.status_code == 401
        assert landed.json()["error"]["code"] == "unauthenticated"
        assert browser.get(f"{gateway.url}/api/v1/me").status_code == 401
    assert "m-1" not in [u.oidc_subject for u in gateway.users()]


def test_deny_list_keeps_an_email_domain_out(gateway: Gateway) -> None:
    with _browser() as browser:
        landed = log_in(browser, gateway.url, "testidp", "eve")
        assert landed.status_code == 403
        assert "not allowed" in landed.json()["error"]["message"]
        assert browser.get(f"{gateway.url}/api/v1/me").status_code == 401


def test_callback_with_forged_state_or_without_login_is_refused(gateway: Gateway) -> None:
    with _browser() as browser:
        fresh = browser.get(f"{gateway.url}/auth/callback?code=x&state=y")
        assert fresh.status_code == 401
        browser.get(f"{gateway.url}/login/testidp")  # starts a login, then forge the answer
        forged = browser.get(f"{gateway.url}/auth/callback?code=stolen&state=forged")
        assert forged.status_code == 401
        assert browser.get(f"{gateway.url}/api/v1/me").status_code == 401


def test_unknown_provider_is_404(gateway: Gateway) -> None:
    with _browser() as browser:
        response = browser.get(f"{gateway.url}/login/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_session_cookie_is_signed_http_only_samesite(gateway: Gateway) -> None:
    with _browser() as browser:
        landed = log_in(browser, gateway.url, "testidp", "alice")
        set_cookie = " ".join(
            h for r in [*landed.history, landed] for h in r.headers.get_list("set-cookie")
        ).lower()
        assert "aerie_session=" in set_cookie
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie
        # A tampered cookie is not a session.
        value = browser.cookies.get("aerie_session")
        assert value
        browser.cookies.set("aerie_session", value[:-4] + "AAAA", domain="127.0.0.1")
        assert browser.get(f"{gateway.url}/api/v1/me").status_code == 401


def test_logout_needs_the_csrf_token_then_ends_the_session(gateway: Gateway) -> None:
    with _browser() as browser:
        home = log_in(browser, gateway.url, "testidp", "alice")
        assert browser.post(f"{gateway.url}/logout").status_code == 403
        assert (
            browser.post(f"{gateway.url}/logout", data={"csrf_token": "guess"}).status_code == 403
        )
        assert browser.get(f"{gateway.url}/api/v1/me").status_code == 200

        out = browser.post(f"{gateway.url}/logout", data={"csrf_token": csrf_of(home.text)})

        assert out.status_code == 200 and "Not logged in" in out.text
        assert browser.get(f"{gateway.url}/api/v1/me").status_code == 401
    with create_app(gateway.settings).state.db.session_scope() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"login.oidc", "logout"} <= actions


def test_presets_cover_the_usual_providers() -> None:
    from gateway.auth.oauth import PRESETS

    assert {"cilogon", "globus", "keycloak", "github"} <= set(PRESETS)
    assert PRESETS["github"]["kind"] == "oauth2"
    assert PRESETS["cilogon"]["issuer"] == "https://cilogon.org"


def test_plain_oauth2_provider_logs_in_through_userinfo(gateway: Gateway) -> None:
    with _browser() as browser:
        landed = log_in(browser, gateway.url, "plain", "alice")
        assert landed.status_code == 200, landed.text
        me = browser.get(f"{gateway.url}/api/v1/me").json()
    # A different issuer namespace: not the OIDC 'alice', a user of its own.
    [user] = [u for u in gateway.users() if u.oidc_issuer == "https://plain-oauth.example"]
    assert user.oidc_subject == "alice-123"
    assert me["name"] == user.name and me["email"] == "alice@uni.example.edu"


def test_an_unreachable_provider_is_a_503_not_a_500(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        tmp_path / "data",
        oidc_providers=[{"name": "down", "issuer": dead, "client_id": "c", "client_secret": "s"}],
    )
    migrate.upgrade(settings.database_url)
    with TestClient(create_app(settings)) as client:
        response = client.get("/login/down", follow_redirects=False)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "provider_unavailable"


def test_login_through_the_provider_returns_to_next_on_this_site_only(gateway: Gateway) -> None:
    with _browser() as browser:
        asked = browser.get(f"{gateway.url}/tokens")  # -> /?next=/tokens, remembered
        assert str(asked.url) == f"{gateway.url}/?next=/tokens"
        assert 'href="/login/testidp?next=/tokens"' in asked.text
        landed = log_in(browser, gateway.url, "testidp", "alice")
        assert landed.status_code == 200 and str(landed.url) == f"{gateway.url}/tokens"
    for evil in ("//evil.com/x", "https://evil.com/x"):
        with _browser() as browser:
            browser.get(f"{gateway.url}/", params={"next": evil})
            landed = log_in(browser, gateway.url, "testidp", "alice")
            assert str(landed.url) == f"{gateway.url}/", evil
            assert all("evil.com" not in r.headers.get("location", "") for r in landed.history)
