"""`aerie db upgrade|downgrade|current`: Alembic migrations for the configured database."""

from __future__ import annotations

import click

from gateway.cli._common import load_settings


@click.group("db")
def db() -> None:
    """Migrate the database schema (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    from gateway.db import migrate

    settings = load_settings()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION ('-1' for one step, 'base' to drop every table)."""
    from gateway.db import migrate

    settings = load_settings()
    migrate.downgrade(settings.database_url, revision)
    click.echo(f"database downgraded to {revision}")


@db.command("current")
def current() -> None:
    """Show the revision the database is at, and whether that is the head."""
    from gateway.db import migrate
    from gateway.db.session import Database

    settings = load_settings()
    database = Database.from_settings(settings)
    try:
        revisions = migrate.current_revisions(database.engine)
    finally:
        database.dispose()
    heads = migrate.head_revisions()
    shown = ", ".join(sorted(revisions)) or "(empty: no migrations applied)"
    status = "at head" if revisions == heads else f"head is {', '.join(sorted(heads))}"
    click.echo(f"{shown} ({status})")
