"""Helpers shared by the CLI modules: settings, a migrated database, error reporting.

Importing this module costs only click: settings (pydantic), the database (SQLAlchemy) and
migrations (Alembic) are imported by the helpers that use them, so `aerie CMD --help` and the
commands that need no database do not pay for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from gateway.db.session import Database
    from gateway.settings import Settings


def load_settings() -> Settings:
    """Settings for this command, with configuration errors shown as a clean message."""
    from gateway.settings import get_settings

    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError, TOML errors, unreadable files
        raise click.ClickException(f"invalid configuration: {exc}") from exc


def open_database(settings: Settings) -> Database:
    """A database ready for use.

    The embedded SQLite database is migrated on first use, so a fresh install needs no setup
    step. A server database (PostgreSQL) is migrated only by `aerie db upgrade`, an explicit
    operator decision; commands refuse to run against an outdated schema.
    """
    from gateway.db import migrate
    from gateway.db.session import Database

    database = Database.from_settings(settings)
    if settings.is_sqlite:
        migrate.upgrade(settings.database_url)
    elif not migrate.is_at_head(database.engine):
        database.dispose()
        raise click.ClickException("the database schema is not up to date: run `aerie db upgrade`")
    return database


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Open the configured database, yield a session, commit; domain errors become CLI errors."""
    from gateway.db.session import session_scope
    from gateway.errors import AerieError

    database = open_database(load_settings())
    try:
        with session_scope(database.sessions) as session:
            yield session
    except AerieError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        database.dispose()


def fmt_time(value: datetime | None) -> str:
    """Timestamps in tables: UTC, to the minute; '-' when absent."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"
