"""pegasus-statistics' output files for one run, composed from the statistics queries.

`aerie statistics -o DIR` writes exactly these texts, and the parity tests compare them with
what the real pegasus-statistics 5.1.3 wrote for the same runs, so the per-workflow order
(root first, then sub-workflows) and the trailing "All" sections live here, in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gateway.services import statistics as st
from gateway.services import statistics_text as tx

LEVELS = ("summary", "wf_stats", "jb_stats", "tf_stats", "ti_stats", "int_stats", "hosts")


@dataclass
class StatisticsReport:
    """File name -> text (in pegasus-statistics' order) and the same figures as JSON data."""

    files: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def statistics_report(
    session: Session, wf_id: int, levels: Iterable[str], time_filter: str = "day"
) -> StatisticsReport:
    """Every requested level for the workflow `wf_id` and the workflows below it."""
    chosen = set(levels)
    unknown = chosen - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown statistics level(s): {', '.join(sorted(unknown))}")
    report = StatisticsReport()
    files, data = report.files, report.data
    workflows = st.descendants(session, wf_id)
    all_ids = [w.wf_id for w in workflows]
    titles = [(w, f"{w.wf_uuid} ({w.dax_label})") for w in workflows]
    if "summary" in chosen:
        summary = st.summary(session, wf_id)
        data["summary"] = summary.to_dict()
        files["summary.txt"] = tx.render_summary(summary)
    if "wf_stats" in chosen:
        blocks = [_counts(session, [w.wf_id], title) for w, title in titles]
        blocks.append(_counts(session, all_ids, "All Workflows"))
        data["workflows"] = [
            {"wf_uuid": w.wf_uuid, "dax_label": w.dax_label, **_block_dict(b)}
            for (w, _), b in zip(titles, blocks, strict=False)
        ] + [{"wf_uuid": "All", "dax_label": "All", **_block_dict(blocks[-1])}]
        files["workflow.txt"] = tx.render_workflow_file(blocks)
    if "jb_stats" in chosen:
        jobs = [(title, st.job_statistics(session, w.wf_id)) for w, title in titles]
        data["jobs"] = {
            w.wf_uuid: [asdict(r) for r in rows]
            for (w, _), (_, rows) in zip(titles, jobs, strict=True)
        }
        files["jobs.txt"] = tx.render_jobs_file(jobs)
    if "tf_stats" in chosen:
        tx_rows = [(title, st.transformation_statistics(session, [w.wf_id])) for w, title in titles]
        tx_rows.append(("All (All)", st.transformation_statistics(session, all_ids)))
        data["transformations"] = {
            w.wf_uuid: [asdict(r) for r in rows]
            for (w, _), (_, rows) in zip(titles, tx_rows, strict=False)
        }
        data["transformations"]["All"] = [asdict(r) for r in tx_rows[-1][1]]
        files["breakdown.txt"] = tx.render_breakdown_file(tx_rows)
    if "ti_stats" in chosen:
        series = st.time_series(session, all_ids)
        data["time"] = asdict(series)
        files["time.txt"] = tx.render_time(series, time_filter)
    if "int_stats" in chosen:
        metrics = [
            (title, st.integrity_metrics(session, [w.wf_id], by_file_type=True))
            for w, title in titles
        ]
        metrics.append(("All (All)", st.integrity_metrics(session, all_ids, by_file_type=True)))
        data["integrity"] = {
            w.wf_uuid: [asdict(m) for m in rows]
            for (w, _), (_, rows) in zip(titles, metrics, strict=False)
        }
        data["integrity"]["All"] = [asdict(m) for m in metrics[-1][1]]
        files["integrity.txt"] = tx.render_integrity_file(metrics)
    if "hosts" in chosen:
        hosts = st.host_statistics(session, all_ids)
        data["hosts"] = [asdict(h) for h in hosts]
        files["hosts.txt"] = tx.render_hosts(hosts)
    return report


def _counts(session: Session, ids: list[int], label: str) -> tx.WorkflowCounts:
    return tx.WorkflowCounts(
        label=label,
        wf_retries=st.workflow_retries(session, ids),
        tasks=st.task_counts(session, ids),
        jobs=st.job_counts(session, ids, "nonsub"),
        sub_workflows=st.job_counts(session, ids, "subwf"),
    )


def _block_dict(b: tx.WorkflowCounts) -> dict[str, Any]:
    return {
        "tasks": asdict(b.tasks),
        "jobs": asdict(b.jobs),
        "sub_workflows": asdict(b.sub_workflows),
        "wf_retries": b.wf_retries,
    }
