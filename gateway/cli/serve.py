"""`aerie serve`: run the gateway. The composition root of the embedded default.

Without a broker, this is the one place that joins gateway and worker: it builds the worker's
Celery app and hands it to `create_app`, so tasks run on a thread of this process.
"""

from __future__ import annotations

import textwrap

import click

from gateway.cli._common import load_settings, open_database
from gateway.settings import Settings


def _settings_help() -> str:
    """The settings table for `--help`, generated so it cannot drift from the code."""
    lines = ["\b", "Settings (environment variables, or keys in aerie.toml / $AERIE_CONFIG):"]
    for name, info in Settings.model_fields.items():
        lines.append(f"  AERIE_{name.upper()}")
        lines += textwrap.wrap(
            info.description or "", width=76, initial_indent=" " * 6, subsequent_indent=" " * 6
        )
    lines.append("See docs/configuration.md for details.")
    return "\n".join(lines)


def login_base_url(settings: Settings, host: str, port: int) -> str:
    """Where the printed link should point: the configured base URL, else host and port."""
    if "base_url" in settings.model_fields_set:
        return settings.base_url.rstrip("/")
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


@click.command("serve", epilog=_settings_help())
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(host: str, port: int, log_level: str) -> None:
    """Start the gateway and print a one-time login link for the admin user.

    With no AERIE_REDIS_URL, tasks run in this process; the embedded SQLite database is
    created and migrated on first start.
    """
    import uvicorn

    from gateway.db.session import session_scope
    from gateway.errors import AerieError
    from gateway.main import create_app
    from gateway.services import users as user_service

    settings = load_settings()
    database = open_database(settings)
    try:
        with session_scope(database.sessions) as session:
            admin = user_service.ensure_admin(session)
            admin_id, admin_name = admin.id, admin.name
    except AerieError as exc:
        raise click.ClickException(exc.message) from exc

    celery_app = None
    if settings.embedded:
        from worker.celery_app import create_celery_app

        celery_app = create_celery_app(settings)

    app = create_app(settings, database=database, celery_app=celery_app)
    token = app.state.login_links.issue(admin_id)
    base = login_base_url(settings, host, port)
    mode = (
        "embedded (SQLite, in-process tasks)"
        if settings.embedded
        else "broker " + (settings.redis_url or "")
    )
    click.echo(
        f"Aerie {mode}; data in {settings.data_dir}\n"
        f"Serving on http://{host}:{port}. Log in as {admin_name} with this one-time link:\n\n"
        f"    {base}/login?token={token}\n",
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)
