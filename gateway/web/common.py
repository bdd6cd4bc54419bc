"""What every HTML router shares: the logged-in-user dependency, flash messages, template
filters, and a route class that turns domain errors into HTML pages instead of JSON.

The API answers errors as JSON (`gateway/errors.py`); a person in a browser should instead see
a page with the header and a way back, and a missing login should lead to the login page rather
than a 401. `PageRoute` does that translation for every route of a router built with
`page_router()`, including errors raised inside dependencies (CSRF, login).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.auth.sessions import SESSION_USER_KEY
from gateway.db.models import User
from gateway.deps import WebUser
from gateway.errors import AerieError, NotFound
from gateway.web.pages import render, templates

FLASH_KEY = "flash"


class LoginRequired(Exception):
    """The page needs a logged-in user; the browser is sent to the home page to log in."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking, kept apart from the ORM row so error pages can still show the header
    after the request's database session was rolled back."""

    name: str
    is_admin: bool


def require_web_user(request: Request, user: WebUser) -> User:
    if user is None:
        raise LoginRequired()
    request.state.viewer = Viewer(user.name, user.is_admin)
    return user


PageUser = Annotated[User, Depends(require_web_user)]


def require_web_admin(user: PageUser) -> User:
    if not user.is_admin:
        raise NotFound("no such page")
    return user


PageAdmin = Annotated[User, Depends(require_web_admin)]


def flash(request: Request, message: str, kind: str = "info") -> None:
    """Queue a one-line message for the next page this browser renders (post/redirect/get)."""
    messages = list(request.session.get(FLASH_KEY, []))
    messages.append({"kind": kind, "text": message})
    request.session[FLASH_KEY] = messages[-5:]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    messages = request.session.pop(FLASH_KEY, None) if "session" in request.scope else None
    return list(messages or [])


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    return render(
        request,
        "errors/error.html",
        {"user": viewer, "status": status, "title": title, "message": message},
        status_code=status,
    )


class PageRoute(APIRoute):
    """An APIRoute whose errors are HTML pages (404 page for NotFound, login for no session)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return redirect("/?next=" + quote(here, safe="/"))
            except NotFound as exc:
                return error_page(request, 404, "Not found", exc.message)
            except AerieError as exc:
                return error_page(request, exc.status_code, "Something is wrong", exc.message)

        return handler


API_PATHS = ("/api/", "/openapi.json", "/docs", "/redoc")
"""Paths whose errors stay JSON (gateway/errors.py): the REST API and its reference."""
_PAGE_ERRORS = {404: "Not found", 405: "Method not allowed"}


def install_page_errors(app: FastAPI) -> None:
    """Addresses no route answers (`/foo`) get the HTML 404 page, not the API's JSON.

    Registered after `gateway.errors.install_handlers`, whose JSON handler still answers
    anything under `/api/` and any other HTTP error.
    """
    json_handler = app.exception_handlers[StarletteHTTPException]

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title = _PAGE_ERRORS.get(exc.status_code)
        if title is None or request.url.path.startswith(API_PATHS):
            answer = json_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        request.state.viewer = _session_viewer(request)
        message = (
            f"There is no page at {request.url.path}."
            if exc.status_code == 404
            else f"{request.url.path} does not answer {request.method} requests."
        )
        response = error_page(request, exc.status_code, title, message)
        response.headers.update(exc.headers or {})
        return response

    app.add_exception_handler(StarletteHTTPException, handler)


def _session_viewer(request: Request) -> Viewer | None:
    """The logged-in person for the header of a page no route (and no dependency) served."""
    user_id = request.session.get(SESSION_USER_KEY) if "session" in request.scope else None
    if user_id is None:
        return None
    with request.app.state.db.session_scope() as session:
        user = session.get(User, user_id)
        return None if user is None or user.disabled else Viewer(user.name, user.is_admin)


def page_router() -> APIRouter:
    return APIRouter(include_in_schema=False, route_class=PageRoute)


# ---- template filters -------------------------------------------------------------------------


def fmt_duration(seconds: float | None) -> str:
    """Short human durations for tables: 0.42 s, 12.3 s, 4 m 05 s, 2 h 03 m."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    seconds = float(seconds)
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} m {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} m"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours:02d} h"


def fmt_time(value: datetime | float | None) -> str:
    """UTC timestamps as `2026-11-25 08:17:50` (epoch seconds or datetimes)."""
    if value is None:
        return "–"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(float(value), UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_bytes(size: int | None) -> str:
    if size is None:
        return "–"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def exit_status(raw: int | None) -> str:
    """A raw wait status as a person reads it: `0`, `3`, `signal 9`."""
    if raw is None:
        return "–"
    if raw < 0 or raw > 0xFFFF:
        return str(raw)
    if raw & 0x7F:
        return f"signal {raw & 0x7F}"
    return str(raw >> 8)


def _query(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    if not params:
        return request.url.path
    return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())


templates.env.filters["duration"] = fmt_duration
templates.env.filters["when"] = fmt_time
templates.env.filters["filesize"] = fmt_bytes
templates.env.filters["exitstatus"] = exit_status
templates.env.globals["with_query"] = _query
templates.env.globals["flashes"] = pop_flashes
