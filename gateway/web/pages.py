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
from gateway.auth.sessions import (
    csrf_token,
    remember_next,
    safe_next,
    start_session,
    take_next,
)
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


@router.get("/", response_class=HTMLResponse, response_model=None)
def home(
    request: Request, user: WebUser, settings: SettingsDep, next: str | None = None
) -> Response:
    """The home page: who is logged in, or how to log in.

    Pages that need a login send the browser here with `?next=<their path>`; it is kept in the
    session so that the login (a login link or a provider) ends on that page. Only same-site
    paths are kept (gateway.auth.sessions.safe_next).
    """
    target = safe_next(next)
    if user is not None and target is not None:
        return RedirectResponse(target, status_code=303)
    if user is None:
        remember_next(request, target)
    return render(
        request,
        "home.html",
        {
            "user": user,
            "providers": settings.oidc_providers,
            "embedded": settings.embedded,
            "next": target,
        },
    )


@router.get("/login", response_class=HTMLResponse, response_model=None)
def login_with_link(
    request: Request, session: SessionDep, token: str | None = None, next: str | None = None
) -> Response:
    """Consume a one-time login link and start a browser session.

    The redirect drops the token from the address bar and goes to the page that asked for the
    login (`next`, or the one remembered by the home page); a used, unknown or missing token
    gets a 403 page instead of a session.
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
    target = take_next(request, next)
    start_session(request, user)
    user_service.mark_login(user)
    audit.record(
        session,
        actor=user,
        action="login.link",
        target=f"user:{user.name}",
        remote_addr=request.client.host if request.client else None,
    )
    return RedirectResponse(target, status_code=303)
