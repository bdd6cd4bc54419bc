"""`aerie tokens create|list|revoke`: API tokens for scripts and the Python SDK."""

from __future__ import annotations

import click

from gateway.auth.tokens import ALL_SCOPES, DEFAULT_SCOPES
from gateway.cli._common import fmt_time, unit_of_work

DEFAULT_EXPIRES_IN_DAYS = 90
"""`gateway.services.tokens.DEFAULT_EXPIRES_IN_DAYS` (a test keeps them equal), repeated here so
that `aerie tokens --help` does not import the service, hence SQLAlchemy and every model."""


@click.group("tokens")
def tokens() -> None:
    """Create, list and revoke API tokens."""


@tokens.command("create")
@click.argument("user")
@click.option("--name", default="default", show_default=True, help="A label for the token.")
@click.option(
    "--scopes",
    "--scope",
    "scopes",
    multiple=True,
    metavar="S",
    help=f"Scope(s), repeatable or space/comma separated: {' '.join(ALL_SCOPES)}. "
    f"Default: {' '.join(DEFAULT_SCOPES)}.",
)
@click.option(
    "--expires-in",
    type=click.IntRange(min=1),
    default=DEFAULT_EXPIRES_IN_DAYS,
    show_default=True,
    metavar="DAYS",
    help="Days until the token expires.",
)
def create(user: str, name: str, scopes: tuple[str, ...], expires_in: int) -> None:
    """Create a token for USER and print it (it is shown only this once)."""
    from gateway.services import tokens as token_service
    from gateway.services import users as user_service

    with unit_of_work() as session:
        owner = user_service.get_user_by_name_or_raise(session, user)
        created = token_service.create_token(
            session, user=owner, name=name, scopes=scopes or None, expires_in_days=expires_in
        )
        token = created.token
        click.echo(
            f"token {token.id} for {owner.name} ({' '.join(token.scopes)}), "
            f"expires {fmt_time(token.expires_at)}. Store it now; it is not shown again:",
            err=True,
        )
        click.echo(created.value)


@tokens.command("list")
@click.argument("user")
def list_(user: str) -> None:
    """List USER's tokens (never their secret values)."""
    from gateway.services import tokens as token_service
    from gateway.services import users as user_service

    with unit_of_work() as session:
        owner = user_service.get_user_by_name_or_raise(session, user)
        click.echo(
            f"{'ID':>4}  {'NAME':<16} {'PREFIX':<14} {'STATUS':<8} {'EXPIRES':<20} "
            f"{'LAST USED':<20} SCOPES"
        )
        for token in token_service.list_tokens(session, user=owner):
            status = "revoked" if token.revoked else "expired" if token.expired else "active"
            click.echo(
                f"{token.id:>4}  {token.name:<16} {'aerie_' + token.prefix:<14} {status:<8} "
                f"{fmt_time(token.expires_at):<20} {fmt_time(token.last_used_at):<20} "
                f"{' '.join(token.scopes)}"
            )


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
def revoke(token_id: int) -> None:
    """Revoke the token with id ID; it stops working at once."""
    from gateway.services import tokens as token_service

    with unit_of_work() as session:
        token = token_service.revoke_token(session, token_id=token_id)
        click.echo(f"revoked token {token.id} ({token.name}) of user {token.user.name}")
