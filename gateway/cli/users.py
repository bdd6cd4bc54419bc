"""`aerie users create|list`: manage local user accounts."""

from __future__ import annotations

import click

from gateway.cli._common import fmt_time, unit_of_work


@click.group("users")
def users() -> None:
    """Create and list users."""


@users.command("create")
@click.argument("name")
@click.option("--email", help="E-mail address shown on the user's pages.")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
def create(name: str, email: str | None, admin: bool) -> None:
    """Create the user NAME."""
    from gateway.services import users as user_service

    with unit_of_work() as session:
        user = user_service.create_user(session, name=name, email=email, is_admin=admin)
        click.echo(f"created user {user.name} (id {user.id}{', admin' if user.is_admin else ''})")


@users.command("list")
def list_() -> None:
    """List every user."""
    from gateway.services import users as user_service

    with unit_of_work() as session:
        rows = user_service.list_users(session)
        click.echo(f"{'ID':>4}  {'NAME':<20} {'EMAIL':<28} {'ADMIN':<5} {'LAST LOGIN':<20}")
        for user in rows:
            flags = "yes" if user.is_admin else "no"
            if user.disabled:
                flags += " (disabled)"
            click.echo(
                f"{user.id:>4}  {user.name:<20} {user.email or '-':<28} {flags:<5} "
                f"{fmt_time(user.last_login_at):<20}"
            )
