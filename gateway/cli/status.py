"""`aerie status`, `aerie analyze`, `aerie statistics`: pegasus-status, -analyzer and -statistics.

RUN is a run id in the gateway's database, a workflow uuid, or a submit directory. A submit
directory (or a run whose submit directory is on this host) is first brought up to date by the
monitor, into the configured database (the embedded SQLite one by default), then reported on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

LEVELS = ("summary", "wf_stats", "jb_stats", "tf_stats", "ti_stats", "int_stats", "hosts")
FILE_TITLES = {
    "summary.txt": "Summary",
    "workflow.txt": "Workflow execution statistics",
    "jobs.txt": "Job instance statistics",
    "breakdown.txt": "Transformation statistics",
    "integrity.txt": "Integrity statistics",
    "time.txt": "Time statistics",
    "hosts.txt": "Host statistics",
}


def resolve(session: Session, run: str) -> int:
    """The root workflow id for RUN, monitoring its submit dir first when there is one."""
    from gateway.db.models.run import Run
    from gateway.services import statistics as st
    from worker.monitor import MonitorError, monitor_run
    from worker.monitor.braindump import BraindumpError

    path = Path(run)
    try:
        if path.is_dir() and _is_pegasus_dir(path):
            return _imported_workflow(session, path)
        if path.is_dir():
            return monitor_run(session, path).wf_id
        db_run = session.get(Run, run)
        if db_run is not None:
            if db_run.submit_dir and Path(db_run.submit_dir).is_dir():
                monitor_run(session, db_run.id)
            return st.root_workflow_for_run(session, db_run.id)
        return st.workflow_by_uuid(session, run)
    except (MonitorError, BraindumpError, st.StatisticsError) as exc:
        raise click.ClickException(str(exc)) from exc
    except FileNotFoundError as exc:
        raise click.ClickException(f"{run}: {exc}") from exc


def _is_pegasus_dir(path: Path) -> bool:
    from worker.pegasus_import.status import is_pegasus_submit_dir

    return is_pegasus_submit_dir(path)


def _imported_workflow(session: Session, path: Path) -> int:
    """A Pegasus submit dir is read by `aerie import`, not by the monitor (its formats differ)."""
    from gateway.services import statistics as st
    from worker.pegasus_import.braindump import find_braindump, read_braindump
    from worker.pegasus_import.errors import SubmitDirError

    try:
        wf_uuid = read_braindump(find_braindump(path)).wf_uuid
        return st.workflow_by_uuid(session, wf_uuid)
    except (SubmitDirError, st.StatisticsError) as exc:
        raise click.ClickException(
            f"{path} is a Pegasus submit directory that is not imported yet: "
            f"run `aerie import {path}` first"
        ) from exc


def _status_once(run: str, long: bool, as_json: bool) -> tuple[str, str]:
    from gateway.cli._common import unit_of_work
    from gateway.services.provenance import render_status, status

    path = Path(run)
    if path.is_dir() and _is_pegasus_dir(path):
        # pegasus-status itself: DAGMan's node counts from every dagman.out under the dir
        from worker.pegasus_import.dagman_out import workflow_progress
        from worker.pegasus_import.status import render_progress, status_json

        progress = workflow_progress(path.resolve())
        root = progress.root.state if progress.root else "Running"
        if as_json:
            return json.dumps(status_json(progress), indent=2) + "\n", root
        return render_progress(progress, long=long).lstrip("\n"), root

    with unit_of_work() as session:
        wf_id = resolve(session, run)
        report = status(session, wf_id)
    text = json.dumps(report.to_dict(), indent=2) + "\n" if as_json else render_status(report, long)
    return text, report.dags[0].state


@click.command("status")
@click.argument("run")
@click.option("-l", "--long", "long_", is_flag=True, help="One row per DAG, with states.")
@click.option("-j", "--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.option(
    "-w",
    "--watch",
    type=float,
    default=None,
    is_flag=False,
    flag_value=5.0,
    help="Refresh every N seconds (default 5) until the workflow succeeds or fails.",
)
def status_cmd(run: str, long_: bool, as_json: bool, watch: float | None) -> None:
    """Progress of a run, like pegasus-status (UNREADY READY PRE IN_Q POST DONE FAIL %DONE)."""
    while True:
        text, state = _status_once(run, long_, as_json)
        if watch is not None:
            click.clear()
        click.echo(text, nl=False)
        if watch is None or state in ("Success", "Failure"):
            return
        time.sleep(watch)


@click.command("analyze")
@click.argument("run")
@click.option("-j", "--json", "as_json", is_flag=True, help="JSON instead of the report.")
def analyze_cmd(run: str, as_json: bool) -> None:
    """Failed and held jobs of a run with their invocations and output, like pegasus-analyzer.

    Exits 2 when the workflow failed or has failed jobs, as pegasus-analyzer does.
    """
    from gateway.cli._common import unit_of_work
    from gateway.services.provenance import analyze, render_analysis

    with unit_of_work() as session:
        wf_id = resolve(session, run)
        analysis = analyze(session, wf_id)
    if as_json:
        click.echo(json.dumps(analysis.to_dict(), indent=2))
    else:
        click.echo(render_analysis(analysis), nl=False)
    if analysis.failed or analysis.workflow_status == "failure":
        raise SystemExit(2)


def _levels(value: str) -> set[str]:
    chosen = {v.strip().lower() for v in value.split(",") if v.strip()}
    if "all" in chosen:
        return set(LEVELS)
    unknown = chosen - set(LEVELS)
    if unknown:
        raise click.BadParameter(
            f"unknown level(s) {', '.join(sorted(unknown))}; choose from all, {', '.join(LEVELS)}"
        )
    return chosen or {"summary"}


@click.command("statistics")
@click.argument("run")
@click.option(
    "-s",
    "--statistics-level",
    "level",
    default="summary",
    show_default=True,
    help="Comma-separated: all, summary, wf_stats, jb_stats, tf_stats, ti_stats, int_stats, hosts.",
)
@click.option("-t", "--time-filter", type=click.Choice(["day", "hour"]), default="day")
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every level.")
@click.option(
    "-o",
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write pegasus-statistics' files (summary.txt, jobs.txt, ...) here.",
)
def statistics_cmd(
    run: str, level: str, time_filter: str, as_json: bool, output_dir: Path | None
) -> None:
    """Summary, wall times, badput and breakdowns of a run, like pegasus-statistics.

    The terminal shows the summary as pegasus-statistics does (the file's text, then a blank
    line); with -o the other levels go to their files, whose paths are listed after it.
    """
    from gateway.cli._common import unit_of_work
    from gateway.services.statistics_report import statistics_report

    levels = _levels(level)
    with unit_of_work() as session:
        report = statistics_report(session, resolve(session, run), levels, time_filter)
    files = report.files
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (output_dir / name).write_text(text)
    if as_json:
        click.echo(json.dumps(report.data, indent=2, default=str))
        return
    if "summary.txt" in files:
        click.echo(files["summary.txt"])
    if output_dir is None:
        for name, text in files.items():
            if name != "summary.txt":
                click.echo(f"==> {name} <==")
                click.echo(text, nl=not text.endswith("\n"))
        return
    for name in files:
        click.echo(f"{FILE_TITLES[name]:<30}: {output_dir / name}")
