"""Migrations build the models' schema from nothing, on SQLite and PostgreSQL, and undo it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import gateway.db.models  # noqa: F401  (every table on Base.metadata)
from gateway.db import migrate
from gateway.db.base import Base
from gateway.db.session import make_engine_for_url

FOUNDATION_TABLES = {"users", "api_tokens", "runs", "audit_log"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        yield request.getfixturevalue("fresh_pg_url")


def _tables(url: str) -> set[str]:
    engine = make_engine_for_url(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_reaches_head(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)

    assert FOUNDATION_TABLES <= _tables(empty_db_url)
    engine = make_engine_for_url(empty_db_url)
    try:
        assert migrate.is_at_head(engine)
    finally:
        engine.dispose()


def test_migrated_schema_matches_models(empty_db_url: str) -> None:
    """Autogenerate finds nothing to do: no model change is missing a migration."""
    migrate.upgrade(empty_db_url)
    engine = make_engine_for_url(empty_db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_up_again(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    migrate.downgrade(empty_db_url, "base")

    assert _tables(empty_db_url) <= {"alembic_version"}

    migrate.upgrade(empty_db_url)
    assert FOUNDATION_TABLES <= _tables(empty_db_url)


def test_every_revision_downgrades_one_step(empty_db_url: str) -> None:
    """Walk up one revision at a time, then down one at a time: each step works alone."""
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_db_url))
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        migrate.upgrade(empty_db_url, revision)
    for _ in revisions:
        migrate.downgrade(empty_db_url, "-1")
    assert _tables(empty_db_url) <= {"alembic_version"}


def test_initial_revision_id_is_stable() -> None:
    """Later migrations name `0001_initial` as their down_revision; it must not change."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    base = [rev for rev in script.walk_revisions() if rev.down_revision is None]
    assert [rev.revision for rev in base] == ["0001_initial"]
