"""Shared fixtures. Keep this file small and generic; areas add their own conftest.py.

- `pg_url`: a fresh PostgreSQL database for this test session (dropped at the end). Created
  through `AERIE_TEST_PG_ADMIN_URL` (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
- `fresh_pg_url`: a brand-new *empty* PostgreSQL database for one test.
- `settings`: Settings on `pg_url`, embedded task mode, a temporary data dir.
- `sqlite_settings`: Settings on a SQLite file in the test's tmp_path (not migrated).
- `make_settings(data_dir, database_url=None, **overrides)`: build more Settings like these.
- `db_engine`: engine for `settings`, migrated to head once per session.
- `session`: a Session inside a transaction that is rolled back after the test
  (commits inside the test only release a SAVEPOINT).
- `app` / `client`: `create_app(settings)` whose requests use that same `session`.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gateway.db import migrate
from gateway.db.session import Database, make_engine
from gateway.deps import get_session
from gateway.main import create_app
from gateway.settings import Settings, get_settings

PG_ADMIN_URL = os.environ.get(
    "AERIE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_configure(config: pytest.Config) -> None:
    """Isolate tests from the developer's own AERIE_* variables and aerie.toml."""
    for key in list(os.environ):
        keep = key.startswith("AERIE_TEST_") or key == "AERIE_SHARED_DIR"
        if key.startswith("AERIE_") and not keep:
            del os.environ[key]
    os.environ["AERIE_CONFIG"] = os.devnull
    # Processes the tests start (`aerie worker`, `aerie serve`) get the same site policy.
    os.environ["AERIE_POLICY"] = json.dumps(TEST_POLICY)
    get_settings.cache_clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`htcondor` tests need a real schedd: deselected unless AERIE_TEST_SCHEDD names one."""
    if os.environ.get("AERIE_TEST_SCHEDD"):
        return
    keep = [item for item in items if item.get_closest_marker("htcondor") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


@contextmanager
def temporary_pg_database(prefix: str = "aerie_test") -> Iterator[str]:
    """Create an empty, uniquely named PostgreSQL database; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with temporary_pg_database() as url:
        yield url


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    with temporary_pg_database("aerie_fresh") as url:
        yield url


TEST_POLICY: dict[str, object] = {
    "input_roots": [
        tempfile.gettempdir(),
        str(Path(__file__).resolve().parents[1]),
        os.environ.get("AERIE_SHARED_DIR")
        or str(Path(__file__).resolve().parents[1] / ".." / "shared"),
    ],
    "executable_roots": ["/usr/bin", "/bin", "/usr/local/bin", tempfile.gettempdir()],
}
"""Test workflows keep inputs and scripts under the temporary directory (and read the shared
reference data): let regular users name them. The data dir stays protected (docs/security.md);
tests of the policy itself pass their own `policy=`."""


def build_settings(data_dir: Path, database_url: str | None = None, **extra: object) -> Settings:
    """Settings for tests: a fixed secret, no broker, links pointing at the TestClient host,
    and a site policy that allows the temporary directory (`TEST_POLICY`)."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "secret_key": "test-secret-key-not-for-production",
        "base_url": "http://testserver",
        "policy": TEST_POLICY,
        **extra,
    }
    if database_url is not None:
        values["database_url"] = database_url
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def make_settings() -> Callable[..., Settings]:
    """`make_settings(data_dir, database_url=None, **overrides)` for tests needing their own."""
    return build_settings


@pytest.fixture(scope="session")
def settings(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return build_settings(tmp_path_factory.mktemp("aerie-data"), pg_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return build_settings(tmp_path / "aerie-data")


@pytest.fixture(scope="session")
def db_engine(settings: Settings) -> Iterator[Engine]:
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    connection = db_engine.connect()
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


@pytest.fixture
def app(settings: Settings, db_engine: Engine, session: Session) -> FastAPI:
    application = create_app(settings, database=Database(db_engine))

    def test_session() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    application.dependency_overrides[get_session] = test_session
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
