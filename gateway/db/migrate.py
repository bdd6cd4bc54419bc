"""Alembic, driven from Python: used by `aerie db`, `aerie serve` and the tests.

The scripts live in the top-level `migrations/` package; this module finds them relative to
`gateway` so the commands work from any directory.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
"""The top-level `migrations` package, next to `gateway` both in a checkout and when installed.

Found by path rather than by import: a `tests/migrations` folder would shadow the name."""


def alembic_config(url: str) -> Config:
    """An Alembic config for the database at `url`."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision` (`base` empties it)."""
    command.downgrade(alembic_config(url), revision)


@cache
def _heads() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(script.get_heads())


def head_revisions() -> set[str]:
    """The revisions a fully migrated database is at (read once: /readyz asks often)."""
    return set(_heads())


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database behind `engine` is at (empty before the first upgrade)."""
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_at_head(engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions()
