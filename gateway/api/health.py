"""Liveness and readiness probes for load balancers, compose and Kubernetes.

`/healthz` answers as long as the process serves requests. `/readyz` checks what a request
needs: the database answers, its schema is at the migration head, and (when configured) the
Celery broker answers. It returns 503 and names every check that failed.
"""

from __future__ import annotations

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.db import migrate
from gateway.db.session import Database
from gateway.schemas.health import Check, Readiness
from gateway.settings import Settings

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def _first_line(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text_[0] if text_ else ''}".rstrip(": ")


def _check_database(database: Database) -> tuple[Check, Check]:
    try:
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = f"database unreachable: {_first_line(getattr(exc, 'orig', None) or exc)}"
        return Check(ok=False, detail=reason), Check(ok=False, detail="database unreachable")
    try:
        current = migrate.current_revisions(database.engine)
        heads = migrate.head_revisions()
    except SQLAlchemyError as exc:
        return Check(ok=True, detail="reachable"), Check(ok=False, detail=_first_line(exc))
    if current == heads:
        return Check(ok=True, detail="reachable"), Check(
            ok=True, detail=f"at head {', '.join(sorted(heads))}"
        )
    have = ", ".join(sorted(current)) or "empty database"
    return Check(ok=True, detail="reachable"), Check(
        ok=False,
        detail=f"at {have}, head is {', '.join(sorted(heads))}: run `aerie db upgrade`",
    )


def _check_broker(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check(ok=True, detail="embedded (tasks run in-process)")
    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check(ok=False, detail=f"broker unreachable: {_first_line(exc)}")
    finally:
        client.close()
    return Check(ok=True, detail="reachable")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(request: Request) -> JSONResponse:
    """200 when every dependency is ready, else 503 listing what is not."""
    settings: Settings = request.app.state.settings
    database: Database = request.app.state.db
    db_check, migration_check = _check_database(database)
    checks = {
        "database": db_check,
        "migrations": migration_check,
        "broker": _check_broker(settings),
    }
    not_ready = [name for name, check in checks.items() if not check.ok]
    body = Readiness(
        status="not ready" if not_ready else "ready", checks=checks, not_ready=not_ready
    )
    return JSONResponse(body.model_dump(), status_code=503 if not_ready else 200)
