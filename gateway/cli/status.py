"""`aerie status`, `aerie analyze`, `aerie statistics`: pegasus-status, -analyzer and -statistics.

RUN is a run id in the gateway's database, a workflow uuid, or a submit directory. A submit
directory (or a run whose submit directory is on this host) is first brought up to date by the
monitor, into the configured database (the embedded SQLite one by default), then reported on.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

LEVELS = ("summary", "wf_stats", "jb_stats", "tf_stats", "ti_stats", "int_stats", "hosts")


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
    """Summary, wall times, badput and breakdowns of a run, like pegasus-statistics."""
    from dataclasses import asdict

    from gateway.cli._common import unit_of_work
    from gateway.services import statistics as st
    from gateway.services import statistics_text as tx

    levels = _levels(level)
    files: dict[str, str] = {}
    data: dict[str, Any] = {}
    with unit_of_work() as session:
        wf_id = resolve(session, run)
        workflows = st.descendants(session, wf_id)
        all_ids = [w.wf_id for w in workflows]
        if "summary" in levels:
            summary = st.summary(session, wf_id)
            data["summary"] = summary.to_dict()
            files["summary.txt"] = tx.render_summary(summary)
        if "wf_stats" in levels:
            text = ""
            blocks = []
            for w in workflows:
                ids = [w.wf_id]
                counts = (
                    st.task_counts(session, ids),
                    st.job_counts(session, ids, "nonsub"),
                    st.job_counts(session, ids, "subwf"),
                )
                retries = st.workflow_retries(session, ids)
                blocks.append(
                    {
                        "wf_uuid": w.wf_uuid,
                        "dax_label": w.dax_label,
                        "tasks": asdict(counts[0]),
                        "jobs": asdict(counts[1]),
                        "sub_workflows": asdict(counts[2]),
                        "wf_retries": retries,
                    }
                )
                text += tx.render_workflow_block(f"{w.wf_uuid} ({w.dax_label})", *counts, retries)
            text += tx.render_workflow_block(
                "All Workflows",
                st.task_counts(session, all_ids),
                st.job_counts(session, all_ids, "nonsub"),
                st.job_counts(session, all_ids, "subwf"),
                st.workflow_retries(session, all_ids),
            )
            data["workflows"] = blocks
            files["workflow.txt"] = text
        if "jb_stats" in levels:
            text = tx.LEGEND_JOBS
            data["jobs"] = {}
            for w in workflows:
                rows = st.job_statistics(session, w.wf_id)
                data["jobs"][w.wf_uuid] = [asdict(r) for r in rows]
                text += tx.render_jobs(f"{w.wf_uuid} ({w.dax_label})", rows)
            files["jobs.txt"] = text
        if "tf_stats" in levels:
            text = tx.LEGEND_BREAKDOWN
            data["transformations"] = {}
            for w in workflows:
                rows_tx = st.transformation_statistics(session, [w.wf_id])
                data["transformations"][w.wf_uuid] = [asdict(r) for r in rows_tx]
                text += tx.render_breakdown(f"{w.wf_uuid} ({w.dax_label})", rows_tx)
            all_tx = st.transformation_statistics(session, all_ids)
            data["transformations"]["All"] = [asdict(r) for r in all_tx]
            text += tx.render_breakdown("All (All)", all_tx)
            files["breakdown.txt"] = text
        if "ti_stats" in levels:
            series = st.time_series(session, all_ids)
            data["time"] = asdict(series)
            files["time.txt"] = tx.render_time(series, time_filter)
        if "int_stats" in levels:
            text = ""
            data["integrity"] = {}
            for w in workflows:
                metrics = st.integrity_metrics(session, [w.wf_id], by_file_type=True)
                data["integrity"][w.wf_uuid] = [asdict(m) for m in metrics]
                text += tx.render_integrity(f"{w.wf_uuid} ({w.dax_label})", metrics)
            text += tx.render_integrity(
                "All (All)", st.integrity_metrics(session, all_ids, by_file_type=True)
            )
            files["integrity.txt"] = text
        if "hosts" in levels:
            hosts = st.host_statistics(session, all_ids)
            data["hosts"] = [asdict(h) for h in hosts]
            files["hosts.txt"] = tx.render_hosts(hosts)
    if output_dir is not None:
        output_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (output_dir / name).write_text(text)
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    for name, text in files.items():
        if len(files) > 1:
            click.echo(f"==> {name} <==")
        click.echo(text, nl=not text.endswith("\n"))
    if output_dir is not None:
        for name in files:
            click.echo(f"{name.split('.')[0].capitalize():<30}: {output_dir / name}")
