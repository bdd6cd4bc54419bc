"""Monitor tests run on both backends: PostgreSQL (the foundation's rolled-back `session`) and
a migrated SQLite file (the embedded default)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.db import migrate
from gateway.db.session import make_engine_for_url


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('monitor-db') / 'aerie.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def sqlite_session(_sqlite_url: str) -> Iterator[Session]:
    engine = make_engine_for_url(_sqlite_url)
    connection = engine.connect()
    outer = connection.begin()
    db_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest) -> Session:
    """A session on each backend in turn; everything is rolled back after the test."""
    name = "session" if request.param == "postgresql" else "sqlite_session"
    return request.getfixturevalue(name)


@pytest.fixture
def wf_dir(tmp_path: Path) -> Path:
    return tmp_path / "submit"
