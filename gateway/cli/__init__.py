"""The `aerie` command: one click group, one module per area of subcommands.

Each area module defines its commands and is registered here with one line of `COMMANDS`, so
that people working on different areas never edit the same lines. The group loads a command's
module only when that command is used (click's "lazily loading subcommands" pattern), and
`aerie --help` lists the short help from the table without importing any of them: start-up
then costs click, not FastAPI, SQLAlchemy, Alembic or Celery (bench/cli_bench.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

COMMANDS: dict[str, tuple[str, str]] = {
    # name: ("module:attribute", short help for `aerie --help`: the docstring's first sentence)
    "serve": (
        "gateway.cli.serve:serve",
        "Start the gateway and print a one-time login link for the admin user.",
    ),
    "worker": (
        "gateway.cli.worker:worker",
        "Run a Celery worker for Aerie's tasks (extra arguments go to `celery worker`).",
    ),
    "beat": (
        "gateway.cli.worker:beat",
        "Run Celery beat, which sends Aerie's periodic tasks (run exactly one per deployment).",
    ),
    "db": ("gateway.cli.db:db", "Migrate the database schema (Alembic)."),
    "users": ("gateway.cli.users:users", "Create and list users."),
    "tokens": ("gateway.cli.tokens:tokens", "Create, list and revoke API tokens."),
    "import": (
        "gateway.cli.import_:import_",
        "Import a Pegasus submit directory as an Aerie run with full provenance.",
    ),
    "engine": (
        "gateway.cli.engine:engine",
        "Run planned workflows with the built-in local engine (DAGMan semantics).",
    ),
    "status": (
        "gateway.cli.status:status_cmd",
        "Progress of a run, like pegasus-status (UNREADY READY PRE IN_Q POST DONE FAIL %DONE).",
    ),
    "analyze": (
        "gateway.cli.status:analyze_cmd",
        "Failed and held jobs of a run with their invocations and output, like pegasus-analyzer.",
    ),
    "statistics": (
        "gateway.cli.status:statistics_cmd",
        "Summary, wall times, badput and breakdowns of a run, like pegasus-statistics.",
    ),
    "validate": (
        "gateway.cli.validate:validate",
        "Load WORKFLOW with its catalogs and properties and report every problem found.",
    ),
    "plan": (
        "gateway.cli.plan:plan",
        "Plan WORKFLOW (Pegasus 5.0 YAML) into a submit directory (pegasus-plan's meanings).",
    ),
    "run": (
        "gateway.cli.run:run",
        "Plan WORKFLOW and run it on the local engine (or resume a run with --rescue RUN).",
    ),
    "remove": (
        "gateway.cli.run:remove",
        "Remove a workflow: TARGET is a run id (the run is cancelled) or a submit directory.",
    ),
}
"""Every subcommand of `aerie`. tests/gateway/test_cli_startup.py checks each short help against
the loaded command's own, so the listing cannot drift from the docstrings."""


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use.

    `lazy_subcommands` maps a command name to ("module:attribute", short help). Listing the
    commands (`--help`) uses the short help and imports nothing; resolving a command imports
    its module and registers the command, so later lookups are plain dictionary hits.
    """

    def __init__(
        self,
        *args: Any,
        lazy_subcommands: Mapping[str, tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.lazy_subcommands:
            return command
        if self._listing:  # a stand-in that only knows its short help
            return click.Command(cmd_name, help=self.lazy_subcommands[cmd_name][1])
        return self.load_command(cmd_name)

    def load_command(self, cmd_name: str) -> click.Command:
        """Import `cmd_name`'s module and register its command under that name."""
        module_name, _, attribute = self.lazy_subcommands[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            # click >= 8.4 suggests close matches ("Did you mean ...?") from `self.commands`,
            # which holds only the commands loaded so far: suggest from every name instead.
            no_such_command = getattr(click.exceptions, "NoSuchCommand", None)
            if no_such_command is None or not isinstance(exc, no_such_command):
                raise
            raise no_such_command(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None


@click.group(
    cls=LazyGroup,
    lazy_subcommands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="aerie")
def main() -> None:
    """Aerie: a self-hosted gateway for Pegasus workflows."""
