"""HTML pages: home and the one-time login link (OIDC login and logout: gateway/auth/oauth.py).

Browser logins live in a signed, HTTP-only, SameSite=Lax cookie (starlette's SessionMiddleware,
installed by `create_app`); it holds only the user id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.auth.login_links import LoginLinks
from gateway.auth.sessions import csrf_token, start_session
from gateway.deps import SessionDep, SettingsDep, WebUser
from gateway.services import audit
from gateway.services import users as user_service

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["csrf_token"] = csrf_token

router = APIRouter(include_in_schema=False)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page with the shared namespace every template may use."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: WebUser, settings: SettingsDep) -> HTMLResponse:
    """The home page: who is logged in, or how to log in."""
    return render(
        request,
        "home.html",
        {"user": user, "providers": settings.oidc_providers, "embedded": settings.embedded},
    )


@router.get("/login", response_class=HTMLResponse, response_model=None)
def login_with_link(request: Request, session: SessionDep, token: str | None = None) -> Response:
    """Consume a one-time login link and start a browser session.

    The redirect drops the token from the address bar; a used, unknown or missing token gets
    a 403 page instead of a session.
    """
    links: LoginLinks = request.app.state.login_links
    user_id = links.consume(token) if token else None
    user = user_service.get_user(session, user_id) if user_id is not None else None
    if user is None or user.disabled:
        return render(
            request,
            "login_failed.html",
            {"user": None, "reason": "missing" if not token else "invalid"},
            status_code=403,
        )
    start_session(request, user)
    user_service.mark_login(user)
    audit.record(
        session,
        actor=user,
        action="login.link",
        target=f"user:{user.name}",
        remote_addr=request.client.host if request.client else None,
    )
    return RedirectResponse("/", status_code=303)
