"""`aerie run`, `aerie run --rescue RUN` and `aerie remove RUN|SUBMITDIR`: runs from the shell.

`aerie run workflow.yml` is the gateway's submission made from a terminal: the documents go
through `gateway.services.runs.create_run` (validation, quotas, the run's inputs directory, the
run row in the configured database — the embedded SQLite one by default), and the task that
the gateway would enqueue (`runs.plan`) is run right here, in this process, through the worker's
Celery registry, so planning, installing the wrapper and starting the local engine detached are
the worker's own code. With `--wait` the command then plays the worker's `runs.poll` itself
(monitor into the database, engine state, resume of a lost engine) and draws the progress from
the provenance rows it wrote, until the run ends; Ctrl-C only stops watching. It polls when
there is something new to show (the engine's node status file changed, or the engine ended)
and at least every REFRESH seconds, looking for that every `--interval` with a stat and a
process check, so the engine's jobs keep the CPU (see `_wait_for_news`).

The plan options are `aerie plan`'s own click parameters (copied, so their names and help stay
the same); the ones that are not documents travel in `Run.options` to the planning task.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.plan import plan as plan_command

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gateway.db.models import Run
    from gateway.settings import Settings
    from planner.inputs import PlanInputs

PLAN_PARAMS = (
    "rcs",
    "tcs",
    "scs",
    "conf",
    "defines",
    "sites",
    "output_sites",
    "staging_sites",
    "cleanup",
    "clusters",
    "reuse",
    "force",
    "seed",
)
"""`aerie plan` parameters that `aerie run` takes too (documents or `Run.options`)."""

CATALOG_KEYS = tuple(f"pegasus.catalog.{k}.file" for k in ("replica", "transformation", "site"))
"""Properties naming catalog files: the files are stored as documents instead."""

DOCUMENT_KINDS = {"replica": "replicas", "transformation": "transformations", "site": "sites"}
"""`PlanInputs.files` kind -> submission document field."""


class _Collect:
    """A task dispatcher that keeps what the services enqueue, to run it after the commit."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def send(self, name: str, args: Sequence[Any]) -> None:
        self.sent.append((name, tuple(args)))

    def start(self) -> None:
        """Nothing runs in the background."""

    def stop(self) -> None:
        """Nothing runs in the background."""


@contextmanager
def _services() -> Iterator[tuple[Session, Settings, Any]]:
    """A unit of work, its settings and a task queue whose tasks run here after the commit."""
    from gateway.cli._common import load_settings, unit_of_work
    from gateway.tasks import TaskQueue

    settings = load_settings()
    collected = _Collect()
    with unit_of_work() as session:
        yield session, settings, TaskQueue(collected)
    _run_tasks(settings, collected.sent)


def _run_tasks(settings: Settings, tasks: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    """Run enqueued tasks in this process, by name, as the gateway's embedded worker does."""
    if not tasks:
        return
    from worker.celery_app import create_celery_app

    app = create_celery_app(settings)
    for name, args in tasks:
        result = app.tasks[name].apply(args=list(args))
        if result.failed():
            raise click.ClickException(f"task {name} failed: {result.result}")


def _documents(inputs: PlanInputs, conf: str | None, defines: dict[str, str]) -> dict[str, str]:
    """The submission documents: the workflow and the catalog files the planner found."""
    documents = {"workflow": Path(inputs.files["workflow"][0]).read_text(encoding="utf-8")}
    for kind, field_ in DOCUMENT_KINDS.items():
        paths = inputs.files.get(kind, [])
        if len(paths) > 1:
            raise click.UsageError(
                f"a run stores one {kind} catalog; got {len(paths)} ({', '.join(paths)}): "
                "merge them into one file"
            )
        if paths:
            documents[field_] = Path(paths[0]).read_text(encoding="utf-8")
    if conf or defines:
        explicit = {k: v for k, v in inputs.properties.explicit.items() if k not in CATALOG_KEYS}
        lines = [f"{k} = {_escape(v)}" for k, v in explicit.items()]
        documents["properties"] = "".join(line + "\n" for line in lines)
    return documents


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _plan_options(params: dict[str, Any]) -> dict[str, Any]:
    """What the planning task needs besides the documents (JSON, kept in `Run.options`)."""
    from gateway.cli.plan import _split_sites
    from planner.compile import parse_staging_sites

    options: dict[str, Any] = {}
    if params["output_sites"]:
        options["output_sites"] = _split_sites(params["output_sites"])
    if params["staging_sites"]:
        options["staging_sites"] = parse_staging_sites(params["staging_sites"])
    if params["cleanup"] != "inplace":
        options["cleanup"] = params["cleanup"]
    if params["clusters"]:
        options["cluster"] = _split_sites(params["clusters"])
    if params["reuse"]:
        options["reuse"] = [str(Path(r).resolve()) for r in params["reuse"]]
    if params["force"]:
        options["force"] = True
    if params["seed"] is not None:
        options["seed"] = params["seed"]
    return options


def _load(workflow: Path, params: dict[str, Any]) -> PlanInputs:
    """The planner's inputs as `aerie plan` would read them; problems end the command."""
    from gateway.cli.plan import _defines, _split_sites
    from planner.errors import ProblemsError
    from planner.inputs import load_inputs
    from planner.properties import Properties

    try:
        overrides = _defines(params["defines"])
        conf = params["conf"]
        props = Properties.load(conf, overrides) if conf else Properties.layered(overrides)
        return load_inputs(
            workflow,
            replica_catalogs=params["rcs"],
            transformation_catalogs=params["tcs"],
            site_catalogs=params["scs"],
            properties=props,
            sites=_split_sites(params["sites"]) or None,
        )
    except ProblemsError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(1) from None


def _owner(session: Session, name: str | None) -> Any:
    from gateway.services import users

    if name:
        return users.get_user_by_name_or_raise(session, name)
    return users.ensure_admin(session)


def _submit(workflow: Path, name: str | None, owner: str | None, params: dict[str, Any]) -> str:
    from gateway.cli.plan import _defines, _split_sites
    from gateway.errors import InvalidInput
    from gateway.services.runs import Submission, create_run

    inputs = _load(workflow, params)
    sub = Submission(
        documents=_documents(inputs, params["conf"], _defines(params["defines"])),
        name=name,
        engine="local",
        execution_sites=_split_sites(params["sites"]) or None,
        plan_options=_plan_options(params),
    )
    try:
        with _services() as (session, settings, tasks):
            run = create_run(session, settings, tasks, _owner(session, owner), sub)
            run_id = run.id
    except click.ClickException as exc:
        cause = exc.__cause__
        if isinstance(cause, InvalidInput):
            for item in cause.details or []:
                where = ":".join(str(item[k]) for k in ("file", "line") if item.get(k) is not None)
                click.echo(f"error: {where + ': ' if where else ''}{item.get('message')}", err=True)
        raise
    return run_id


def _rescue(run_id: str) -> str:
    """Resume RUN: a failed run from its rescue DAG (the gateway's retry), an active one whose
    engine died by a worker poll (which resumes a lost engine)."""
    from gateway.db.models import Run
    from gateway.db.states import RunState
    from gateway.services.runs import retry_run

    with _services() as (session, settings, tasks):
        run = session.get(Run, run_id)
        if run is None:
            raise click.ClickException(f"no workflow run with id {run_id!r}")
        state = RunState(run.state)
        if state is RunState.FAILED:
            retry_run(session, settings, tasks, run)
            click.echo(f"run {run_id}: resuming from the rescue DAG")
        elif state not in (RunState.RUNNING, RunState.HELD):
            raise click.ClickException(
                f"run {run_id} is {state.value}; only failed runs, or running runs whose engine "
                "died, can be resumed"
            )
        handle = run.engine_handle
    if state is not RunState.FAILED:
        from worker.tasks.runs import poll_run

        poll_run(settings, run_id)
        current, _ = _snapshot(settings, run_id)
        if current.engine_handle != handle:
            click.echo(f"run {run_id}: its engine had died; resumed from the logs")
        else:
            click.echo(f"run {run_id}: {current.state}; its engine is alive, nothing to resume")
    return run_id


def _snapshot(settings: Settings, run_id: str, counts: bool = True) -> tuple[Run, dict[str, Any]]:
    """The run row (detached) and, unless `counts` is False, its pegasus-status counts."""
    from gateway.db.models import Run
    from gateway.services.run_layout import status_counts
    from worker.tasks.runs import database

    with database(settings).session_scope() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise click.ClickException(f"run {run_id} disappeared")
        found = status_counts(session, run) if counts else {}
        session.expunge(run)
    return run, found


REFRESH = 5.0
"""Longest time (seconds) `aerie run --wait` lets pass without a poll while the engine runs
and its status file does not change: the planner's NODE_STATUS_FILE interval, after which the
status file normally has new counts anyway."""

TERMINAL_ENV = ("TTY_COMPATIBLE", "FORCE_COLOR", "FORCE_TERMINAL", "TTY_INTERACTIVE")
"""Environment variables with which rich may draw on a non-tty (then rich decides)."""


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """The identity of a file's current contents, cheaply (a stat): None if it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _status_file(engine_handle: str | None) -> Path | None:
    """The engine's node status file (`<dag>.status`, NODE_STATUS_FILE of our DAGs)."""
    if engine_handle is None:
        return None
    dag = json.loads(engine_handle).get("dag_file")
    return Path(f"{dag}.status") if dag else None


def _wait_for_news(
    settings: Settings,
    engine_handle: str | None,
    seen: tuple[int, int, int] | None,
    interval: float,
) -> None:
    """Sleep until the next poll is worth its monitor pass.

    A poll brings the run's provenance up to date and reads the progress counts from it, and
    those counts come from the engine's node status file, which the engine rewrites every few
    seconds (NODE_STATUS_FILE in the DAG), not per job. So between polls this looks, every
    `interval` seconds, at two cheap things only: whether the status file changed since `seen`
    (its stamp taken before the last poll: new counts to show, poll now) and whether the engine
    still runs (it ended: poll now, which records the end and the last of the provenance).
    Otherwise it polls after REFRESH seconds (or `interval`, if longer) anyway, which also
    notices an engine that died.
    """
    from worker.tasks.runs import engine_running

    deadline = time.monotonic() + max(interval, REFRESH)
    status_file = _status_file(engine_handle)
    if engine_handle is None or status_file is None:  # not started (yet): only the clock
        time.sleep(interval)
        return
    while True:
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))
        if time.monotonic() >= deadline:
            return
        if _stamp(status_file) != seen:
            return
        if not engine_running(settings, engine_handle):
            return


def _rich_may_draw() -> bool:
    """False when rich certainly would not draw a live bar (stdout not a terminal and no
    variable forcing one), so the plain progress lines can be printed without importing it."""
    return sys.stdout.isatty() or any(os.environ.get(k) is not None for k in TERMINAL_ENV)


def _watch(
    settings: Settings, run_id: str, name: str, engine_handle: str | None, interval: float
) -> Run:
    """Poll the run as the worker's beat would, with a progress bar, until it ends.

    On a terminal the bar is redrawn in place; otherwise (a pipe, a log file) one line is
    printed whenever the counts change, so logs show the progress too. The first poll is
    made at once; after that see `_wait_for_news` for when the next one is.
    """
    from gateway.db.states import TERMINAL
    from worker.tasks.runs import poll_run_outcome

    last: tuple[Any, ...] = ()
    handle = engine_handle
    with _progress() as show:
        while True:
            status_file = _status_file(handle)
            seen = _stamp(status_file) if status_file is not None else None
            outcome = poll_run_outcome(settings, run_id)
            state = outcome.state
            if state is None:
                raise click.ClickException(f"run {run_id} disappeared")
            counts = outcome.counts
            if counts:
                running = counts["pre"] + counts["queued"] + counts["post"]
                if show is not None:
                    show(
                        description=f"{name} {state.value}",
                        total=counts["total"],
                        completed=counts["succeeded"] + counts["failed"],
                        done=counts["succeeded"],
                        failed=counts["failed"],
                        running=running,
                    )
                now = (state, counts["total"], counts["succeeded"], counts["failed"], running)
                if show is None and now != last:
                    last = now
                    click.echo(
                        f"progress: {counts['succeeded']}/{counts['total']} done, "
                        f"{counts['failed']} failed, {running} running ({state.value})"
                    )
            if state in TERMINAL:
                run, _ = _snapshot(settings, run_id, counts=False)
                return run
            if outcome.engine_handle != handle:  # resumed under a new engine
                handle = outcome.engine_handle
                status_file = _status_file(handle)
                seen = _stamp(status_file) if status_file is not None else None
            _wait_for_news(settings, handle, seen, interval)


@contextmanager
def _progress() -> Iterator[Callable[..., None] | None]:
    """A function updating rich's live bar on a terminal; None elsewhere (print lines)."""
    if not _rich_may_draw():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console()
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "done [green]{task.fields[done]}[/] failed [red]{task.fields[failed]}[/] "
            "running [cyan]{task.fields[running]}[/]"
        ),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("starting", total=None, done=0, failed=0, running=0)
        yield lambda **fields: progress.update(bar, **fields)


def _report(settings: Settings, run: Run) -> None:
    """Say how the run ended; a failed run gets the analyzer's summary and exit status 1."""
    from gateway.db.states import RunState
    from gateway.services.provenance import analyze, render_analysis
    from gateway.services.statistics import StatisticsError, root_workflow_for_run
    from worker.tasks.runs import database

    state = RunState(run.state)
    if state is RunState.SUCCEEDED:
        click.echo(f"run {run.id} succeeded; statistics: aerie statistics {run.id}")
        return
    click.echo(f"run {run.id} {state.value}: {run.error or 'see aerie analyze'}", err=True)
    with database(settings).session_scope() as session:
        try:
            analysis = analyze(session, root_workflow_for_run(session, run.id))
        except StatisticsError:
            analysis = None
    if analysis is not None:
        click.echo(render_analysis(analysis), nl=False, err=True)
    raise SystemExit(1)


@click.command("run")
@click.argument(
    "workflow", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--rescue", "rescue", metavar="RUN", help="Resume RUN instead of planning anew.")
@click.option("--name", help="Run name (default: the workflow's name).")
@click.option("--owner", help="User who owns the run (default: the embedded admin).")
@click.option("--wait", is_flag=True, help="Show progress until the run ends; exit 1 on failure.")
@click.option(
    "--interval",
    type=float,
    default=1.0,
    show_default=True,
    help="Seconds between looks at the run; it is polled (provenance and progress brought up "
    "to date) when its engine's status file changed or the engine ended, otherwise every "
    f"{REFRESH:.0f} s (or INTERVAL, if longer).",
)
def run(
    workflow: Path | None,
    rescue: str | None,
    name: str | None,
    owner: str | None,
    wait: bool,
    interval: float,
    **params: Any,
) -> None:
    """Plan WORKFLOW and run it on the local engine (or resume a run with --rescue RUN).

    Takes `aerie plan`'s options. The run is recorded in the gateway's database; follow it with
    `aerie status RUN`, stop it with `aerie remove RUN`.
    """
    from gateway.cli._common import load_settings

    if (workflow is None) == (rescue is None):
        raise click.UsageError("give either WORKFLOW or --rescue RUN")
    if workflow is not None:
        run_id = _submit(workflow, name, owner, params)
    else:
        assert rescue is not None
        run_id = _rescue(rescue)
    from gateway.db.states import RunState

    try:  # from here on the run exists: Ctrl-C only stops this command
        settings = load_settings()
        current, _ = _snapshot(settings, run_id)
        if RunState(current.state) is RunState.FAILED:
            _report(settings, current)
        click.echo(f"run {run_id} ({current.name}) is {RunState(current.state).value}")
        if not wait:
            click.echo(f"follow it with: aerie status {run_id} --watch")
            return
        final = _watch(settings, run_id, current.name, current.engine_handle, interval)
    except KeyboardInterrupt:
        click.echo(
            f"\nstopped watching; run {run_id} keeps running. "
            f"Follow it with: aerie status {run_id} --watch",
            err=True,
        )
        raise SystemExit(130) from None
    _report(settings, final)


for _param in plan_command.params:
    if _param.name in PLAN_PARAMS:
        run.params.append(_param)


@click.command("remove")
@click.argument("target")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the engine.")
@click.option("--timeout", type=float, default=60.0, show_default=True)
def remove(target: str, wait: bool, timeout: float) -> None:
    """Remove a workflow: TARGET is a run id (the run is cancelled) or a submit directory.

    Running jobs are killed and a rescue DAG is written, as condor_rm does for DAGMan.
    """
    from gateway.cli.engine import _remove

    if Path(target).exists():
        _remove(Path(target), wait, timeout)
        return
    from gateway.db.models import Run
    from gateway.services.runs import cancel_run
    from worker.engines import EngineHandle, get_engine
    from worker.engines import RunState as EngineState

    with _services() as (session, settings, tasks):
        row = session.get(Run, target)
        if row is None:
            raise click.ClickException(f"no workflow run and no submit directory named {target!r}")
        cancel_run(session, settings, tasks, row)
        handle = EngineHandle.from_json(row.engine_handle) if row.engine_handle else None
    click.echo(f"run {target} cancelled")
    if handle is None or not wait:
        return
    engine = get_engine(handle.engine)
    deadline = time.monotonic() + timeout
    while engine.poll(handle).state is EngineState.RUNNING:
        if time.monotonic() > deadline:
            raise click.ClickException(f"engine {handle.job_id} still runs after {timeout:.0f} s")
        time.sleep(0.1)
    click.echo("engine stopped; jobs killed, rescue DAG written")
