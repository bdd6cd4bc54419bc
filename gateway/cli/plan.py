"""`aerie plan`: compile a workflow into a submit directory that both engines run (pegasus-plan)."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import click


def _split_sites(values: tuple[str, ...]) -> list[str]:
    return [s.strip() for v in values for s in v.split(",") if s.strip()]


def _defines(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="-D")
        out[key.strip()] = value.strip()
    return out


@click.command("plan")
@click.argument("workflow", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "submit_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Submit directory to create.",
)
@click.option(
    "--rc",
    "rcs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Replica catalog file (repeatable).",
)
@click.option(
    "--tc",
    "tcs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Transformation catalog file (repeatable).",
)
@click.option(
    "--sc",
    "scs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Site catalog file (repeatable).",
)
@click.option(
    "--conf", type=click.Path(exists=True, dir_okay=False), help="pegasus.properties file."
)
@click.option(
    "-D",
    "defines",
    multiple=True,
    metavar="KEY=VALUE",
    help="Property that overrides --conf (repeatable).",
)
@click.option("-s", "--sites", "sites", multiple=True, help="Execution sites (comma-separated).")
@click.option(
    "--output-sites",
    "output_sites",
    multiple=True,
    help="Output sites (comma-separated; default local).",
)
@click.option(
    "--staging-site",
    "staging_sites",
    multiple=True,
    help="exec=staging mappings, or one staging site for all (nonsharedfs).",
)
@click.option(
    "--cleanup",
    type=click.Choice(["none", "leaf", "inplace"]),
    default="inplace",
    show_default=True,
)
@click.option(
    "-C",
    "--cluster",
    "clusters",
    multiple=True,
    help="Clustering: horizontal and/or label (comma-separated, applied in order).",
)
@click.option(
    "--reuse",
    "reuse",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Earlier submit directory whose outputs may be reused (repeatable).",
)
@click.option("--force", is_flag=True, help="No data reuse: plan every job.")
@click.option("--seed", type=int, default=None, help="Seed for random site selection.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def plan(
    workflow: Path,
    submit_dir: Path,
    rcs: tuple[str, ...],
    tcs: tuple[str, ...],
    scs: tuple[str, ...],
    conf: str | None,
    defines: tuple[str, ...],
    sites: tuple[str, ...],
    output_sites: tuple[str, ...],
    staging_sites: tuple[str, ...],
    cleanup: str,
    clusters: tuple[str, ...],
    reuse: tuple[str, ...],
    force: bool,
    seed: int | None,
    as_json: bool,
) -> None:
    """Plan WORKFLOW (Pegasus 5.0 YAML) into a submit directory (pegasus-plan's meanings).

    Catalog files default to replicas.yml, transformations.yml and sites.yml beside the
    workflow. Bad input is reported as one line per problem: file:line: field: message.
    """
    from planner import PlanOptions, write
    from planner import plan as plan_workflow
    from planner.compile import parse_staging_sites
    from planner.errors import ProblemsError
    from planner.inputs import load_inputs
    from planner.properties import Properties

    submit_dir = submit_dir.absolute()
    if submit_dir.exists() and any(submit_dir.glob("*.dag")):
        raise click.ClickException(f"{submit_dir} already holds a planned workflow")
    t0 = time.perf_counter()
    try:
        overrides = _defines(defines)
        props = Properties.load(conf, overrides) if conf else Properties.layered(overrides)
        site_list = _split_sites(sites) or None
        inputs = load_inputs(
            workflow,
            replica_catalogs=rcs,
            transformation_catalogs=tcs,
            site_catalogs=scs,
            properties=props,
            sites=site_list,
        )
        sources = {"workflow.yml": str(workflow)}
        for kind, paths in inputs.files.items():
            if kind == "workflow":
                continue
            for i, path in enumerate(paths):
                name = f"{kind}{'' if i == 0 else i}{Path(path).suffix or '.yml'}"
                sources[name if kind != "properties" else "pegasus.properties"] = path
        options = PlanOptions(
            submit_dir=submit_dir,
            sites=site_list,
            output_sites=_split_sites(output_sites) or ["local"],
            staging_sites=parse_staging_sites(staging_sites),
            cleanup=cleanup,
            cluster=_split_sites(clusters),
            reuse=[Path(r) for r in reuse],
            force=force,
            seed=seed,
            planner_args=shlex.join(sys.argv[1:]),
            workflow_file=str(workflow.absolute()),
            sources=sources,
        )
        t1 = time.perf_counter()
        ew = plan_workflow(inputs, options)
        del inputs  # the spec objects are not needed to write; big workflows need the memory
        t2 = time.perf_counter()
        write(ew)
    except ProblemsError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None
    from worker.workspace import install_wrapper

    install_wrapper(submit_dir)
    t3 = time.perf_counter()
    counts = ew.counts()
    summary = {
        "submit_dir": str(submit_dir),
        "dag": str(submit_dir / ew.dag_file),
        "wf_uuid": ew.wf_uuid,
        "data_configuration": ew.data_configuration,
        "jobs": counts,
        "total_jobs": len(ew.nodes),
        "deleted_tasks": ew.metrics["wf_metrics"]["deleted_tasks"],
        "seconds": {
            "load": round(t1 - t0, 3),
            "plan": round(t2 - t1, 3),
            "write": round(t3 - t2, 3),
            "total": round(t3 - t0, 3),
        },
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"planned {ew.label} into {submit_dir}")
    for kind, n in sorted(counts.items()):
        click.echo(f"  {kind:<14} {n}")
    click.echo(f"  {'total':<14} {len(ew.nodes)}")
    click.echo(f"run it with: aerie engine run {submit_dir}")
