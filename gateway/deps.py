"""FastAPI dependencies, each named once as an `Annotated` alias.

Routes read like sentences: `def read_me(user: CurrentUser) -> ...`. Tests replace
`get_session` through `app.dependency_overrides`, never by patching modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.auth import tokens as tokenlib
from gateway.auth.sessions import CSRF_HEADER, csrf_matches
from gateway.db.models import ApiToken, User
from gateway.db.session import Database
from gateway.errors import Forbidden, Unauthenticated
from gateway.services import tokens as token_service
from gateway.settings import Settings
from gateway.tasks import TaskQueue

SESSION_USER_KEY = "user_id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the route returns normally, else rolled back."""
    database = get_database(request)
    session = database.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_task_queue(request: Request) -> TaskQueue:
    tasks: TaskQueue = request.app.state.tasks
    return tasks


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
TasksDep = Annotated[TaskQueue, Depends(get_task_queue)]


@dataclass(frozen=True)
class Principal:
    """Who is asking and what they may do: from a bearer token or a browser session."""

    user: User
    scopes: frozenset[str]
    token: ApiToken | None = field(default=None)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def _session_scopes(user: User) -> frozenset[str]:
    scopes = set(tokenlib.DEFAULT_SCOPES)
    if user.is_admin:
        scopes.add(tokenlib.SCOPE_ADMIN)
    return frozenset(scopes)


def get_principal(request: Request, session: SessionDep) -> Principal:
    """Authenticate the request, or raise a 401 with a JSON error.

    Bearer tokens work for every method. A browser session cookie is accepted for safe
    methods, and for writes only with the session's CSRF token in `X-CSRF-Token`, so a page
    cannot be tricked into a cross-site write (CSRF) through the API.
    """
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("expected 'Authorization: Bearer <token>'")
        token = token_service.authenticate(session, value.strip())
        return Principal(user=token.user, scopes=frozenset(token.scopes), token=token)
    user_id = request.session.get(SESSION_USER_KEY) if "session" in request.scope else None
    safe = request.method in SAFE_METHODS or csrf_matches(request, request.headers.get(CSRF_HEADER))
    if user_id is not None and safe:
        user = session.get(User, user_id)
        if user is not None and not user.disabled:
            return Principal(user=user, scopes=_session_scopes(user))
    raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_current_user(principal: PrincipalDep) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_scope(scope: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only callers holding `scope` (403 otherwise).

    Use as `dependencies=[Depends(require_scope("workflows:write"))]` or as a parameter type
    `Annotated[Principal, Depends(require_scope(...))]`.
    """

    def check(principal: PrincipalDep) -> Principal:
        if not principal.has_scope(scope):
            raise Forbidden(f"this requires the {scope!r} scope")
        if scope == tokenlib.SCOPE_ADMIN and not principal.user.is_admin:
            raise Forbidden("this requires an admin")
        return principal

    return check


def get_web_user(request: Request, session: SessionDep) -> User | None:
    """The browser-session user for HTML pages, or None when nobody is logged in."""
    user_id = request.session.get(SESSION_USER_KEY)
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or user.disabled:
        request.session.pop(SESSION_USER_KEY, None)
        return None
    return user


WebUser = Annotated[User | None, Depends(get_web_user)]
