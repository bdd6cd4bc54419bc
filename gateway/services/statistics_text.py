"""Text layouts of pegasus-statistics 5.1.3 (`summary.txt`, `workflow.txt`, `jobs.txt`,
`breakdown.txt`, `integrity.txt`, `time.txt`), reproduced byte for byte (SPEC.md §5).

Pegasus writes every table with left-justified cells. The summary, workflow and time tables
use fixed column widths; the jobs, breakdown and integrity tables start from fixed minimum
widths and grow each column to its longest formatted cell, plus one space, per workflow
section. Users diff these files against Pegasus's, so the layout is part of the contract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from gateway.services.statistics import (
    CountRow,
    HostRow,
    IntegrityMetric,
    JobRow,
    Summary,
    TimeBucket,
    TimeSeries,
    TransformationRow,
)

SUMMARY_HEADER = ("Type", "Succeeded", "Failed", "Incomplete", "Total", "Retries", "Total+Retries")
SUMMARY_WIDTHS = (15, 10, 8, 12, 10, 10, 13)
WORKFLOW_HEADER = (*SUMMARY_HEADER, "WF Retries")
WORKFLOW_WIDTHS = (15, 11, 10, 12, 10, 10, 15, 10)
JOB_HEADER = (
    "Job", "Try", "Site", "Kickstart", "Mult", "Kickstart-Mult", "CPU-Time", "Post",
    "CondorQTime", "Resource", "Runtime", "Seqexec", "Seqexec-Delay", "Exitcode", "Hostname",
)  # fmt: skip
JOB_MIN_WIDTHS = (35, 4, 12, 12, 6, 16, 12, 6, 12, 12, 12, 12, 15, 10, 30)
TX_HEADER = (
    "Transformation", "Type", "Count", "Min (runtime)", "Max (runtime)", "Mean (runtime)",
    "Total (runtime)", "Min (mem)", "Max (mem)", "Mean (mem)", "Min (avg. cpu)",
    "Max (avg. cpu)", "Mean (avg. cpu)",
)  # fmt: skip
TX_MIN_WIDTHS = (15, 5, 6, 14, 14, 21, 22, 10, 10, 11, 15, 15, 16)
INTEGRITY_HEADER = ("Type", "File Type", "Count", "Total Duration")
INTEGRITY_MIN_WIDTHS = (10, 15, 10, 25)
TIME_WIDTHS = (30, 20, 20)
TIME_HOST_WIDTHS = (23, 30, 10, 20)

LEGEND_SUMMARY = """#
# Pegasus Workflow Management System - https://pegasus.isi.edu
#
# Workflow summary:
#   Summary of the workflow execution. It shows total
#   tasks/jobs/sub workflows run, how many succeeded/failed etc.
#   In case of hierarchical workflow the calculation shows the
#   statistics across all the sub workflows.It shows the following
#   statistics about tasks, jobs and sub workflows.
#     * Succeeded - total count of succeeded tasks/jobs/sub workflows.
#     * Failed - total count of failed tasks/jobs/sub workflows.
#     * Incomplete - total count of tasks/jobs/sub workflows that are
#       not in succeeded or failed state. This includes all the jobs
#       that are not submitted, submitted but not completed etc. This
#       is calculated as  difference between 'total' count and sum of
#       'succeeded' and 'failed' count.
#     * Total - total count of tasks/jobs/sub workflows.
#     * Retries - total retry count of tasks/jobs/sub workflows.
#     * Total+Retries - total count of tasks/jobs/sub workflows executed
#       during workflow run. This is the cumulative of retries,
#       succeeded and failed count.
# Workflow wall time:
#   The wall time from the start of the workflow execution to the end as
#   reported by the DAGMAN. In case of rescue dag the value is the
#   cumulative of all retries.
# Cumulative job wall time:
#   The sum of the wall time of all jobs as reported by kickstart.
#   In case of job retries the value is the cumulative of all retries.
#   For workflows having sub workflow jobs (i.e SUBDAG and SUBDAX jobs),
#   the wall time value includes jobs from the sub workflows as well.
# Cumulative job wall time as seen from submit side:
#   The sum of the wall time of all jobs as reported by DAGMan.
#   This is similar to the regular cumulative job wall time, but includes
#   job management overhead and delays. In case of job retries the value
#   is the cumulative of all retries. For workflows having sub workflow
#   jobs (i.e SUBDAG and SUBDAX jobs), the wall time value includes jobs
#   from the sub workflows as well.
# Cumulative job badput wall time:
#   The sum of the wall time of all failed jobs as reported by kickstart.
#   In case of job retries the value is the cumulative of all retries.
#   For workflows having sub workflow jobs (i.e SUBDAG and SUBDAX jobs),
#   the wall time value includes jobs from the sub workflows as well.
# Cumulative job badput wall time as seen from submit side:
#   The sum of the wall time of all failed jobs as reported by DAGMan.
#   This is similar to the regular cumulative job badput wall time, but includes
#   job management overhead and delays. In case of job retries the value
#   is the cumulative of all retries. For workflows having sub workflow
#   jobs (i.e SUBDAG and SUBDAX jobs), the wall time value includes jobs
#   from the sub workflows as well.
"""

LEGEND_INTEGRITY_SUMMARY = """
# Integrity Metrics
# Number of files for which checksums were compared/computed along with total time spent doing it.
"""

LEGEND_INTEGRITY_ERRORS = """
# Integrity Errors
# Total:
#       Total number of integrity errors encountered across all job executions (including retries) of a workflow.
# Failures:
#       Number of failed jobs where the last job instance had integrity errors.
"""  # noqa: E501

LEGEND_WORKFLOW = """# Workflow summary
#   Summary of the workflow execution. It shows total
#   tasks/jobs/sub workflows run, how many succeeded/failed etc.
#   In case of hierarchical workflow the calculation shows the
#   statistics of each individual sub workflow.The file also
#   contains a 'Total' table at the bottom which is the cummulative
#   of all the individual statistics details.t shows the following
#   statistics about tasks, jobs and sub workflows.
#
#     * WF Retries - number of times a workflow was retried.
#     * Succeeded - total count of succeeded tasks/jobs/sub workflows.
#     * Failed - total count of failed tasks/jobs/sub workflows.
#     * Incomplete - total count of tasks/jobs/sub workflows that are
#       not in succeeded or failed state. This includes all the jobs
#       that are not submitted, submitted but not completed etc. This
#       is calculated as  difference between 'total' count and sum of
#       'succeeded' and 'failed' count.
#     * Total - total count of tasks/jobs/sub workflows.
#     * Retries - total retry count of tasks/jobs/sub workflows.
#     * Total+Retries - total count of tasks/jobs/sub workflows executed
#       during workflow run. This is the cumulative of retries,
#       succeeded and failed count.
#
"""

LEGEND_JOBS = """# Job            - name of the job
# Try            - number representing the job instance run count
# Site           - site where the job ran
# Kickstart      - actual duration of the job instance in seconds on the
#                  remote compute node
# Mult           - multiplier factor specified by the user
# Kickstart-Mult - Kickstart time multiplied by the multiplier factor
# CPU-Time       - remote cpu time computed as the stime + utime
# Post           - postscript time as reported by DAGMan
# CondorQTime    - time between submission by DAGMan and the remote Grid
#                  submission. It is an estimate of the time spent in the
#                  condor q on the submit node
# Resource       - time between the remote Grid submission and start of
#                  remote execution. It is an estimate of the time job
#                  spent in the remote queue
# Runtime        - time spent on the resource as seen by Condor DAGMan.
#                  Is always >= Kickstart
# Seqexec        - time taken for the completion of a clustered job
# Seqexec-Delay  - time difference between the time for the completion
#                  of a clustered job and sum of all the individual
#                  tasks Kickstart time
# Exitcode       - exitcode for this job
# Hostname       - name of the host where the job ran, as reported by
#                  Kickstart
"""

LEGEND_BREAKDOWN = """# Transformation   - name of the transformation.
# Type             - successful or failed
# Count            - the number of times the invocations corresponding to
#                    the transformation was executed.
# Min(sec)         - the minimum invocation runtime value corresponding
#                    to the transformation.
# Max(sec)         - the maximum invocation runtime value corresponding
#                    to the transformation.
# Mean(sec)        - the mean of the invocation runtime corresponding
#                    to the transformation.
# Total(sec)       - the cumulative of invocation runtime corresponding
#                    to the transformation.
# Min (mem)        - the minimum of the max. resident set size (RSS) value corresponding
#                    to the transformation. In MB.
# Max (mem)        - the maximum of the max. resident set size (RSS) value corresponding
#                    to the transformation. In MB.
# Mean (mem)       - the mean of the max. resident set size (RSS) value corresponding
#                    to the transformation. In MB.
# Min (avg. cpu)   - the minimum of the average cpu utilization value corresponding
#                    to the transformation.
# Max (avg. cpu)   - the maximum of the average cpu utilization value corresponding
#                    to the transformation.
# Mean (avg. cpu)  - the mean of the average cpu utilization value corresponding
#                    to the transformation.
"""

LEGEND_INTEGRITY = """# Integrity Statistics Breakdown
# Type           - the type of integrity metric.
                check - means checksum was compared for a file,
                compute - means a checksum was generated for a file
# File Type      - the type of file: input or output from a job perspective
# Count          - the number of times done
# Total Duration - sum of duration in seconds for the 'count' number
                of records matching the particular type,
                file-type combo
"""

LEGEND_TIME = """# Job instance statistics per FILTER:
#   the number of job instances run, total runtime sorted by FILTER
# Invocation statistics per FILTER:
#   the number of invocations , total runtime sorted by FILTER
# Job instance statistics by host per FILTER:
#   the number of job instance run, total runtime on each host sorted by FILTER
# Invocation by host per FILTER:
#   the number of invocations, total runtime on each host sorted by FILTER"""


@dataclass
class WorkflowCounts:
    """One block of `workflow.txt`: a workflow (or "All Workflows") and its three count rows."""

    label: str
    wf_retries: int
    tasks: CountRow
    jobs: CountRow
    sub_workflows: CountRow


def format_seconds(duration: float | Decimal | None, max_comp: int = 2) -> str:
    """pegasus-statistics' duration format: up to two components from the first non-zero one
    (`2 mins, 1 sec`, `1 hr, 0 mins`), or `round(d, 2) secs` under a minute; None is `-`."""
    if duration is None:
        return "-"
    sec = int(duration)
    parts: list[str] = []
    units = (("year", 31536000), ("day", 86400), ("hr", 3600), ("min", 60))
    for name, size in units:
        value, sec = divmod(sec, size)
        if len(parts) < max_comp and (value >= 1 or parts):
            parts.append(f"{value} {name}" + ("" if value == 1 else "s"))
    if len(parts) < max_comp:
        secs: float | Decimal = sec
        if not parts:  # a Decimal keeps its scale, as stampede's Numeric columns print
            secs = (
                round(duration, 2) if isinstance(duration, Decimal) else round(float(duration), 2)
            )
        parts.append(f"{secs} sec" + ("" if secs == 1 else "s"))
    return ", ".join(parts)


def fstr(value: float | Decimal | None, to: int = 3) -> str:
    return "-" if value is None else str(round(float(value), to))


def pstr(value: float | None, to: int = 2) -> str:
    return "-" if value is None else str(round(float(value), to)) + "%"


def row(values: Sequence[object], widths: Sequence[int]) -> str:
    """One table line: each cell left-justified to its column (cells past `widths` dropped)."""
    return "".join(str(v).ljust(w) for v, w in zip(values, widths, strict=False)) + "\n"


def grown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], minimum: Sequence[int]
) -> str:
    """Header and rows with each column as wide as the larger of its minimum and its longest
    cell, plus one space (the header itself does not widen a column, as in Pegasus)."""
    widths = list(minimum)
    for cells in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]
    widths = [w + 1 for w in widths]
    return row(header, widths) + "".join(row(cells, widths) for cells in rows)


def _counts(name: str, c: CountRow) -> list[int | str]:
    return [name, c.succeeded, c.failed, c.incomplete, c.total, c.retries, c.total_retries]


def render_summary_table(s: Summary) -> str:
    rule = "-" * sum(SUMMARY_WIDTHS) + "\n"
    return (
        rule
        + row(SUMMARY_HEADER, SUMMARY_WIDTHS)
        + row(_counts("Tasks", s.tasks), SUMMARY_WIDTHS)
        + row(_counts("Jobs", s.jobs), SUMMARY_WIDTHS)
        + row(_counts("Sub-Workflows", s.sub_workflows), SUMMARY_WIDTHS)
        + rule
        + "\n"
    )


def render_time_summary(s: Summary, multiple: bool = False) -> str:
    """The wall-time lines and, when checksums were handled, the integrity figures."""
    lines = [] if multiple else [("Workflow wall time", s.workflow_wall_time)]
    lines += [
        ("Cumulative job wall time", s.cum_job_wall_time),
        ("Cumulative job wall time as seen from submit side", s.submit_side_wall_time),
        ("Cumulative job badput wall time", s.cum_job_badput),
        ("Cumulative job badput wall time as seen from submit side", s.submit_side_badput),
    ]
    out = "".join(f"{label:<57}: {format_seconds(value)}\n" for label, value in lines)
    if not s.integrity:
        return out
    out += LEGEND_INTEGRITY_SUMMARY
    for m in s.integrity:
        kind = {"check": "compared", "compute": "generated"}.get(m.type, m.type)
        # stampede's Numeric(10,3) sums arrive as Decimal: "0.00 secs", not "0.0 secs"
        duration = format_seconds(Decimal(f"{m.duration:.3f}"))
        out += f"{m.count} files checksums {kind} with total duration of {duration}\n"
    out += LEGEND_INTEGRITY_ERRORS
    if s.integrity_errors is not None:
        out += f"Total:    A total of {s.integrity_errors} integrity errors encountered in the workflow\n"  # noqa: E501
    return (
        out + f"Failures: {s.failed_jobs_with_integrity_errors} job failures had integrity errors\n"
    )  # noqa: E501


def render_summary(s: Summary, multiple: bool = False) -> str:
    """The whole `summary.txt` (legend, table, time lines, integrity)."""
    return LEGEND_SUMMARY + render_summary_table(s) + render_time_summary(s, multiple)


def render_workflow_file(blocks: Sequence[WorkflowCounts]) -> str:
    """`workflow.txt`: one block per workflow, the last one being "All Workflows"."""
    rule = "-" * sum(WORKFLOW_WIDTHS) + "\n"
    retry_col = sum(WORKFLOW_WIDTHS) - WORKFLOW_WIDTHS[-1] + 1
    out = LEGEND_WORKFLOW + row(WORKFLOW_HEADER, WORKFLOW_WIDTHS)
    for i, b in enumerate(blocks):
        out += rule + b.label + str(b.wf_retries).rjust(retry_col - len(b.label)) + "\n"
        for name, c in (("Tasks", b.tasks), ("Jobs", b.jobs), ("Sub-Workflows", b.sub_workflows)):
            out += row(_counts(name, c), WORKFLOW_WIDTHS)
        if i < len(blocks) - 1:
            out += "\n"
    return out


def job_cells(r: JobRow) -> list[str]:
    return [
        r.job,
        str(r.try_),
        r.site or "-",
        fstr(r.kickstart),
        str(r.multiplier),
        fstr(r.kickstart_mult),
        fstr(r.cpu_time),
        fstr(r.post),
        fstr(r.condor_q_time),
        fstr(r.resource),
        fstr(r.runtime),
        fstr(r.seqexec),
        fstr(r.seqexec_delay),
        str(r.exitcode),
        r.hostname or "None",
    ]


def render_jobs_file(sections: Sequence[tuple[str, Sequence[JobRow]]]) -> str:
    """`jobs.txt`: one table per workflow, titled `uuid (label)`."""
    out = LEGEND_JOBS
    for title, rows in sections:
        out += f"# {title}\n" + grown_table(
            JOB_HEADER, [job_cells(r) for r in rows], JOB_MIN_WIDTHS
        )
    return out


def transformation_cells(t: TransformationRow) -> list[str]:
    return [
        t.transformation,
        t.type,
        str(t.count),
        fstr(t.min),
        fstr(t.max),
        fstr(t.mean),
        fstr(t.total),
        fstr(t.min_maxrss / 1024) if t.min_maxrss else "-",
        fstr(t.max_maxrss / 1024) if t.max_maxrss else "-",
        fstr(t.mean_maxrss / 1024) if t.mean_maxrss else "-",
        pstr(t.min_avg_cpu * 100) if t.min_avg_cpu else "-",
        pstr(t.max_avg_cpu * 100) if t.max_avg_cpu else "-",
        pstr(t.mean_avg_cpu * 100) if t.mean_avg_cpu else "-",
    ]


def render_breakdown_file(sections: Sequence[tuple[str, Sequence[TransformationRow]]]) -> str:
    """`breakdown.txt`: one table per workflow, then "All (All)" (header even when empty)."""
    out = LEGEND_BREAKDOWN
    for title, rows in sections:
        cells = [transformation_cells(t) for t in rows]
        out += f"\n# {title}\n" + grown_table(TX_HEADER, cells, TX_MIN_WIDTHS)
    return out


def integrity_cells(m: IntegrityMetric) -> list[str]:
    # Numeric(10,3) as pegasus-statistics prints it: 0.000, 0.141
    return [m.type, m.file_type or "None", str(m.count), f"{m.duration:.3f}"]


def render_integrity_file(sections: Sequence[tuple[str, Sequence[IntegrityMetric]]]) -> str:
    """`integrity.txt`: one table per workflow, then "All (All)"; no table when empty."""
    out = LEGEND_INTEGRITY
    for title, metrics in sections:
        out += f"\n# {title}\n"
        if metrics:
            cells = [integrity_cells(m) for m in metrics]
            out += grown_table(INTEGRITY_HEADER, cells, INTEGRITY_MIN_WIDTHS)
    return out


def _buckets(items: Sequence[TimeBucket], unit: str) -> list[tuple[str, str | None, int, float]]:
    """Hour buckets to local-time labels, merged into days for `unit == "day"` (Pegasus)."""
    fmt = "%Y-%m-%d" if unit == "day" else "%Y-%m-%d : %H"
    merged: dict[tuple[str | None, str], list[float]] = {}
    order: list[tuple[str | None, str]] = []
    for b in items:
        label = datetime.fromtimestamp(b.hour * 3600).strftime(fmt)
        key = (b.host, label)
        if key not in merged:
            merged[key] = [0, 0.0]
            order.append(key)
        merged[key][0] += b.count
        merged[key][1] += b.runtime
    return [
        (label, host, int(merged[(host, label)][0]), merged[(host, label)][1])
        for host, label in order
    ]


def render_time(ts: TimeSeries, unit: str = "day") -> str:
    """`time.txt`: job instances and invocations per day/hour, overall and per host."""
    date = "Date[YYYY-MM-DD]" if unit == "day" else "Date[YYYY-MM-DD : HH]"
    header = [date, "Count", "Runtime (sec)"]
    host_header = [date, "Host", "Count", "Runtime (sec)"]
    out = "\n" + LEGEND_TIME.replace("FILTER", unit) + "\n"
    for title, items in (
        (f"Job instances statistics per {unit}", ts.jobs),
        (f"Invocation statistics run per {unit}", ts.invocations),
    ):
        out += f"\n# {title}\n" + row(header, TIME_WIDTHS)
        for label, _, count, rt in _buckets(items, unit):
            out += row([label, count, fstr(rt)], TIME_WIDTHS)
    for title, items in (
        (f"Job instances statistics on host per {unit}", ts.jobs_per_host),
        (f"Invocation statistics on host per {unit}", ts.invocations_per_host),
    ):
        out += f"\n# {title}\n" + row(host_header, TIME_HOST_WIDTHS)
        for label, host, count, rt in _buckets(items, unit):
            out += row([label, host, count, fstr(rt)], TIME_HOST_WIDTHS)
    return out


def render_hosts(rows: Sequence[HostRow]) -> str:
    """Aerie's per-host table (pegasus-statistics has only the per-host time series)."""
    header = ["Host", "Site", "Jobs", "Job runtime", "Invocations", "Invocation runtime"]
    cells = [
        [
            r.hostname,
            r.site or "-",
            str(r.job_instances),
            fstr(r.job_runtime),
            str(r.invocations),
            fstr(r.invocation_runtime),
        ]
        for r in rows
    ]
    return grown_table(header, cells, [len(h) for h in header])
