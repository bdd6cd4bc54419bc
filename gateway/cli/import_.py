"""`aerie import SUBMITDIR`: bring a Pegasus run (or a copy of its submit directory) into Aerie."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("import")
@click.argument("submit_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--owner", default="admin", show_default=True, help="Aerie user who owns the run.")
def import_(submit_dir: Path, owner: str) -> None:
    """Import a Pegasus submit directory as an Aerie run with full provenance.

    Works without the stampede database: jobs, attempts, states, kickstart invocations, hosts
    and sub-workflows are rebuilt from the directory's own files. Importing the same workflow
    again changes nothing.
    """
    from gateway.cli._common import unit_of_work
    from worker.pegasus_import.errors import SubmitDirError
    from worker.pegasus_import.importer import import_submit_dir

    try:
        with unit_of_work() as session:
            result = import_submit_dir(session, submit_dir, owner)
    except SubmitDirError as exc:
        raise click.ClickException(str(exc)) from exc
    if not result.created:
        click.echo(
            f"already imported: run {result.run_id} (workflow {result.wf_uuid}); nothing changed"
        )
        return
    click.echo(f"imported run {result.run_id} (workflow {result.wf_uuid})")
    click.echo(
        f"  {result.workflows} workflow(s), {result.jobs} jobs, {result.job_instances} job "
        f"instances, {result.invocations} invocations"
    )
    for warning in result.warnings:
        click.echo(f"  warning: {warning}", err=True)
