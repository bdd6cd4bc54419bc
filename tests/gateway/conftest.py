"""Gateway test helpers: factory fixtures for users and tokens, and a SQLite-backed app."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.db import migrate
from gateway.db.models import User
from gateway.main import create_app
from gateway.services import tokens as token_service
from gateway.services import users as user_service
from gateway.settings import Settings

MakeUser = Callable[..., User]
MakeToken = Callable[..., str]


@pytest.fixture
def make_user(session: Session) -> MakeUser:
    """`make_user(name=None, is_admin=False, email=None)`: a user with a unique name."""

    def factory(
        name: str | None = None, *, is_admin: bool = False, email: str | None = None
    ) -> User:
        name = name or f"user_{uuid.uuid4().hex[:10]}"
        user = user_service.create_user(session, name=name, email=email, is_admin=is_admin)
        session.commit()
        return user

    return factory


@pytest.fixture
def make_token(session: Session) -> MakeToken:
    """`make_token(user, scopes=None, expires_in_days=90)`: the secret value of a new token."""

    def factory(user: User, **kwargs: object) -> str:
        created = token_service.create_token(session, user=user, **kwargs)  # type: ignore[arg-type]
        session.commit()
        return created.value

    return factory


@pytest.fixture
def alice(make_user: MakeUser) -> User:
    return make_user(email="alice@example.org")


@pytest.fixture
def sqlite_app(sqlite_settings: Settings) -> FastAPI:
    """An app on a migrated SQLite file, with its own sessions (no test transaction)."""
    migrate.upgrade(sqlite_settings.database_url)
    return create_app(sqlite_settings)


@pytest.fixture
def sqlite_client(sqlite_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(sqlite_app) as test_client:
        yield test_client
