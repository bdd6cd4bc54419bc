"""The FastAPI application factory. Nothing here runs at import time.

`create_app(settings)` wires settings, database, task queue, login links, middleware, routers
and error handlers onto one app. The caller decides how tasks run: `aerie serve` passes the
worker's Celery app for the embedded mode; tests pass what they need.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from celery import Celery
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from gateway.api import (
    admin,
    catalogs,
    events,
    files,
    health,
    imports,
    jobs,
    me,
    reports,
    tokens,
    workflows,
)
from gateway.auth import oauth
from gateway.auth.login_links import LoginLinks
from gateway.db.session import Database
from gateway.errors import install_handlers
from gateway.settings import Settings, get_settings
from gateway.tasks import TaskQueue, make_task_queue
from gateway.web import admin as admin_pages
from gateway.web import pages
from gateway.web import runs as run_pages
from gateway.web import tokens as token_pages
from gateway.web.common import install_page_errors

SESSION_COOKIE = "aerie_session"
API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    tasks: TaskQueue | None = None,
    celery_app: Celery | None = None,
) -> FastAPI:
    """Build the gateway app.

    `database` and `tasks` default to ones made from `settings`; `celery_app` (the worker's
    app) makes tasks run in-process when no broker is configured.
    """
    settings = settings or get_settings()
    database = database or Database.from_settings(settings)
    tasks = tasks or make_task_queue(settings, celery_app)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks.start()
        try:
            yield
        finally:
            tasks.stop()

    app = FastAPI(title="Aerie", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.db = database
    app.state.tasks = tasks
    app.state.login_links = LoginLinks()

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    install_handlers(app)
    install_page_errors(app)  # after install_handlers: unknown pages are HTML, /api/* JSON
    app.include_router(health.router)
    app.include_router(me.router, prefix=API_PREFIX)
    for module in (tokens, imports, workflows, events, jobs, reports, files, catalogs, admin):
        app.include_router(module.router, prefix=API_PREFIX)
    for page_module in (pages, run_pages, token_pages, admin_pages):
        app.include_router(page_module.router)
    app.include_router(oauth.router)
    return app
