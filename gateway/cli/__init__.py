"""The `aerie` command: one click group, one module per area of subcommands.

Each area module defines its commands and is registered here with one line, so that
people working on different areas never edit the same function.
"""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aerie")
def main() -> None:
    """Aerie: a self-hosted gateway for Pegasus workflows."""


def _register() -> None:
    """Attach every area's commands; imported lazily so `aerie --help` stays fast."""
    from gateway.cli import db, serve, tokens, users, worker

    main.add_command(serve.serve)
    main.add_command(worker.worker)
    main.add_command(worker.beat)
    main.add_command(db.db)
    main.add_command(users.users)
    main.add_command(tokens.tokens)
    from gateway.cli import import_

    main.add_command(import_.import_)
    from gateway.cli import engine

    main.add_command(engine.engine)
    from gateway.cli import status

    main.add_command(status.status_cmd)
    main.add_command(status.analyze_cmd)
    main.add_command(status.statistics_cmd)
    from gateway.cli import validate

    main.add_command(validate.validate)
    from gateway.cli import plan

    main.add_command(plan.plan)
    from gateway.cli import run

    main.add_command(run.run)
    main.add_command(run.remove)  # a run id or a submit dir


_register()
