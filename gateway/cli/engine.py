"""`aerie engine run|remove|status SUBMITDIR`: the local engine from the command line.

`run` executes the submit directory's DAG in the foreground (exit status = DAGMan's) or, with
`--detach`, starts the long-lived engine process and returns its handle, which is what the
worker does. `remove` is `condor_rm` for the local engine: SIGTERM to the engine, which kills
the running jobs, writes aborted events and a rescue DAG. SUBMITDIR may also be a `.dag` file.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import click


def _dag_file(target: Path) -> Path:
    from worker.engines.base import EngineError, find_dag

    if target.is_file():
        return target.resolve()
    try:
        return find_dag(target.resolve())
    except EngineError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("engine")
def engine() -> None:
    """Run planned workflows with the built-in local engine (DAGMan semantics)."""


@engine.command("run")
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option("--detach", is_flag=True, help="Start the engine in the background and return.")
@click.option("--force", is_flag=True, help="Ignore rescue DAGs (renamed .old) and start over.")
@click.option("--cpus", type=int, default=None, help="CPU slots (default: this host's cores).")
@click.option("--memory", type=int, default=None, help="Memory in MB (default: this host's).")
@click.option("--gpus", type=int, default=None, help="GPUs (default: 0).")
@click.option("--scratch", type=click.Path(path_type=Path), default=None, help="Scratch root.")
@click.option("--maxjobs", type=int, default=None, help="Most node jobs at once (0: no limit).")
@click.option("--maxpre", type=int, default=None, help="Most PRE scripts at once.")
@click.option("--maxpost", type=int, default=None, help="Most POST scripts at once.")
def run(
    target: Path,
    detach: bool,
    force: bool,
    cpus: int | None,
    memory: int | None,
    gpus: int | None,
    scratch: Path | None,
    maxjobs: int | None,
    maxpre: int | None,
    maxpost: int | None,
) -> None:
    """Execute the DAG of TARGET (a submit directory or a .dag file)."""
    from worker.engines.local.config import EngineConfig

    config = EngineConfig(
        cpus=cpus,
        memory_mb=memory,
        gpus=gpus,
        scratch_root=scratch,
        max_jobs=maxjobs,
        max_pre=maxpre,
        max_post=maxpost,
    )
    dag = _dag_file(target)
    if detach:
        from worker.engines.base import EngineError
        from worker.engines.local.engine import LocalEngine

        try:
            handle = LocalEngine(config).submit(dag.parent, force=force)
        except EngineError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"engine started: pid {handle.job_id} for {dag}")
        click.echo(handle.to_json())
        return
    from worker.engines.local.dagfile import DagSyntaxError
    from worker.engines.local.runner import EngineBusy
    from worker.engines.local.runner import run as run_dag

    try:
        result = run_dag(dag, config, force=force)
    except (DagSyntaxError, EngineBusy) as exc:
        raise click.ClickException(str(exc)) from exc
    if result.exit_code == 0:
        click.echo(f"{dag.name}: all nodes succeeded")
    else:
        failed = ", ".join(result.failed) or "none"
        rescue = result.rescue_file.name if result.rescue_file else "none"
        click.echo(
            f"{dag.name}: stopped with status {result.exit_code} (failed nodes: {failed}; "
            f"rescue DAG: {rescue})",
            err=True,
        )
    raise SystemExit(result.exit_code)


def _remove_options(function: Callable[..., None]) -> Callable[..., None]:
    function = click.option("--timeout", type=float, default=60.0, show_default=True)(function)
    function = click.option(
        "--wait/--no-wait", default=True, show_default=True, help="Wait for the engine."
    )(function)
    return click.argument("target", type=click.Path(exists=True, path_type=Path))(function)


def _remove(target: Path, wait: bool, timeout: float) -> None:
    from worker.engines.local.runner import read_lock

    dag = _dag_file(target)
    lock = read_lock(dag)
    if lock is None or not lock.alive():
        raise click.ClickException(f"{dag.name} is not being run by a live local engine")
    os.kill(lock.pid, signal.SIGTERM)
    click.echo(f"sent SIGTERM to engine pid {lock.pid}")
    if not wait:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not lock.alive():
            click.echo("engine stopped; rescue DAG written")
            return
        time.sleep(0.1)
    raise click.ClickException(f"engine pid {lock.pid} still running after {timeout:.0f} s")


@engine.command("remove")
@_remove_options
def remove(target: Path, wait: bool, timeout: float) -> None:
    """Stop the engine running TARGET: jobs are killed and a rescue DAG is written."""
    _remove(target, wait, timeout)


@click.command("remove")
@_remove_options
def remove_submit_dir(target: Path, wait: bool, timeout: float) -> None:
    """Remove the workflow running in submit directory TARGET (condor_rm for the local
    engine): its jobs are killed, and a rescue DAG lets `aerie engine run` resume it."""
    _remove(target, wait, timeout)


@engine.command("status")
@click.argument("target", type=click.Path(exists=True, path_type=Path))
def status(target: Path) -> None:
    """Say whether TARGET's DAG is running, finished (with its metrics) or was lost."""
    import json

    from worker.engines.local.runner import read_lock

    dag = _dag_file(target)
    lock = read_lock(dag)
    if lock is not None and lock.alive():
        click.echo(f"running: engine pid {lock.pid}")
        return
    if lock is not None:
        click.echo(f"lost: engine pid {lock.pid} died; `aerie engine run` resumes it")
        return
    metrics = dag.with_name(dag.name + ".metrics")
    if metrics.exists():
        data = json.loads(metrics.read_text())
        click.echo(
            f"finished: exit {data.get('exitcode')} DagStatus {data.get('DagStatus')} "
            f"({data.get('jobs_succeeded')} of {data.get('jobs')} nodes succeeded)"
        )
        return
    click.echo("not started")
