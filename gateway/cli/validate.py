"""`aerie validate`: check a workflow and its catalogs without planning it.

Prints every problem of every document as `file:line: path: message` (or a JSON object with
`--json`, the same shape the gateway's 422 responses use) and exits 1 when there is any, so it
fits in editors, pre-commit hooks and CI.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click


@click.command("validate")
@click.argument("workflow", type=click.Path(path_type=Path))
@click.option("--rc", "rc", multiple=True, type=click.Path(path_type=Path), help="Replica catalog.")
@click.option(
    "--tc", "tc", multiple=True, type=click.Path(path_type=Path), help="Transformation catalog."
)
@click.option("--sc", "sc", multiple=True, type=click.Path(path_type=Path), help="Site catalog.")
@click.option("--conf", type=click.Path(path_type=Path), help="pegasus.properties file.")
@click.option(
    "--input-dir",
    "input_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory whose files are replicas on site local (repeatable).",
)
@click.option("--sites", help="Comma-separated candidate execution sites.")
@click.option("--expand-env", is_flag=True, help="Expand ${VAR} in catalogs from this environment.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def validate(
    workflow: Path,
    rc: tuple[Path, ...],
    tc: tuple[Path, ...],
    sc: tuple[Path, ...],
    conf: Path | None,
    input_dirs: tuple[Path, ...],
    sites: str | None,
    expand_env: bool,
    as_json: bool,
) -> None:
    """Load WORKFLOW with its catalogs and properties and report every problem found."""
    from planner.errors import ProblemsError
    from planner.inputs import load_inputs

    site_list = [s.strip() for s in sites.split(",") if s.strip()] if sites else None
    try:
        inputs = load_inputs(
            workflow,
            replica_catalogs=rc,
            transformation_catalogs=tc,
            site_catalogs=sc,
            properties=conf,
            sites=site_list,
            input_dirs=input_dirs,
            env=dict(os.environ) if expand_env else None,
        )
    except ProblemsError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "problems": [p.to_dict() for p in exc.problems]}))
        else:
            for p in exc.problems:
                click.echo(str(p), err=True)
            n = len(exc.problems)
            click.echo(f"{n} problem{'s' if n != 1 else ''} found", err=True)
        sys.exit(1)
    graph = inputs.graph
    levels = graph.levels()
    summary = {
        "ok": True,
        "workflow": inputs.workflow.name,
        "jobs": len(graph),
        "edges": graph.n_edges,
        "depth": (max(levels) + 1) if levels else 0,
        "files": inputs.files,
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"{workflow}: OK — {summary['jobs']} jobs, {summary['edges']} edges, "
            f"{summary['depth']} levels"
        )
