"""Rules every HTML route keeps, checked over the app's route table so a new form cannot forget
them: state-changing pages demand the CSRF token, and page errors are pages, not JSON."""

from __future__ import annotations

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from gateway.auth import oauth
from gateway.auth.sessions import require_csrf
from gateway.main import create_app
from gateway.settings import Settings
from gateway.web import admin, pages, runs, tokens
from gateway.web.common import PageRoute


def _dependencies(route: APIRoute) -> set[object]:
    found: set[object] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found.add(dep.call)
        stack.extend(dep.dependencies)
    return found


HTML_ROUTERS = (pages.router, runs.router, tokens.router, admin.router, oauth.router)


def test_every_state_changing_page_route_checks_csrf() -> None:
    pages = [r for router in HTML_ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    writes = [r for r in pages if r.methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert {r.path for r in writes} >= {
        "/runs/new",
        "/runs/{run_id}/cancel",
        "/runs/{run_id}/retry",
        "/runs/{run_id}/delete",
        "/tokens",
        "/tokens/{token_id}/revoke",
        "/admin/users/{name}",
        "/admin/quotas",
    }
    unguarded = [r.path for r in writes if require_csrf not in _dependencies(r)]
    assert unguarded == []
    ours = [r for r in pages if r.path.startswith(("/runs", "/tokens", "/admin"))]
    assert ours and all(isinstance(r, PageRoute) for r in ours)


def test_pages_answer_html_and_send_strangers_to_log_in(sqlite_settings: Settings) -> None:
    from gateway.db import migrate

    migrate.upgrade(sqlite_settings.database_url)
    with TestClient(create_app(sqlite_settings)) as client:
        for path in ("/runs", "/runs/new", "/runs/some-id", "/tokens", "/admin/users"):
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"] == f"/?next={path}"
        forged = client.post("/runs/some-id/cancel", follow_redirects=False)
        assert forged.status_code == 403
        assert forged.headers["content-type"].startswith("text/html")
        assert "CSRF" in forged.text
