"""API test fixtures.

- `api`: the app over the rolled-back test `session` (PostgreSQL), with a task queue that
  records what would be sent to the workers (the broker boundary) instead of running it.
- `sent`: the (task name, args) the app enqueued, in order.
- `headers(user, scopes=None)`: Authorization headers with a fresh token.
- `embedded`: a gateway on a migrated SQLite file whose tasks run in-process on the real worker
  Celery app (what `aerie serve` does): submissions really get planned, run and monitored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from gateway.db import migrate
from gateway.db.models import User
from gateway.db.session import Database
from gateway.deps import get_session
from gateway.main import create_app
from gateway.services import tokens as token_service
from gateway.services import users as user_service
from gateway.settings import Settings
from gateway.tasks import TaskQueue


class RecordingDispatcher:
    """Stands in for the broker: records what would cross the process boundary."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def send(self, name: str, args: Sequence[Any]) -> None:
        self.sent.append((name, tuple(args)))

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def sent(dispatcher: RecordingDispatcher) -> list[tuple[str, tuple[Any, ...]]]:
    return dispatcher.sent


@pytest.fixture
def api(
    settings: Settings, db_engine: Engine, session: Session, dispatcher: RecordingDispatcher
) -> Iterator[TestClient]:
    application = create_app(settings, database=Database(db_engine), tasks=TaskQueue(dispatcher))

    def test_session() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    application.dependency_overrides[get_session] = test_session
    with TestClient(application) as client:
        yield client


Headers = Callable[..., dict[str, str]]


@pytest.fixture
def headers(session: Session) -> Headers:
    def make(user: User, scopes: list[str] | None = None) -> dict[str, str]:
        created = token_service.create_token(session, user=user, scopes=scopes)
        session.commit()
        return {"Authorization": f"Bearer {created.value}"}

    return make


@dataclass
class Embedded:
    app: FastAPI
    client: TestClient
    settings: Settings

    def user(self, name: str, *, is_admin: bool = False) -> tuple[User, dict[str, str]]:
        with self.app.state.db.session_scope() as s:
            user = user_service.create_user(s, name=name, is_admin=is_admin)
            value = token_service.create_token(
                s,
                user=user,
                scopes=["workflows:read", "workflows:write"] + (["admin"] if is_admin else []),
            ).value
        return user, {"Authorization": f"Bearer {value}"}


def make_embedded(data_dir: Path, make_settings: Callable[..., Settings]) -> Iterator[Embedded]:
    from worker.celery_app import create_celery_app

    settings = make_settings(data_dir)
    migrate.upgrade(settings.database_url)
    app = create_app(settings, celery_app=create_celery_app(settings))
    with TestClient(app) as client:
        yield Embedded(app, client, settings)


@pytest.fixture
def embedded(tmp_path: Path, make_settings: Callable[..., Settings]) -> Iterator[Embedded]:
    yield from make_embedded(tmp_path / "data", make_settings)
