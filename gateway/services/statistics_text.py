"""Text layouts of pegasus-statistics (`summary.txt`, `jobs.txt`, `breakdown.txt`, `time.txt`),
reproduced so that output can be compared byte for byte with real Pegasus output (SPEC.md §5).
"""

from __future__ import annotations

from collections.abc import Sequence
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

SUMMARY_WIDTHS = (15, 10, 8, 12, 10, 10, 13)
SUMMARY_HEADER = ("Type", "Succeeded", "Failed", "Incomplete", "Total", "Retries", "Total+Retries")
WORKFLOW_WIDTHS = (15, 11, 10, 12, 10, 10, 15, 10)
JOB_HEADER = (
    "Job",
    "Try",
    "Site",
    "Kickstart",
    "Mult",
    "Kickstart-Mult",
    "CPU-Time",
    "Post",
    "CondorQTime",
    "Resource",
    "Runtime",
    "Seqexec",
    "Seqexec-Delay",
    "Exitcode",
    "Hostname",
)
TX_HEADER = (
    "Transformation",
    "Type",
    "Count",
    "Min (runtime)",
    "Max (runtime)",
    "Mean (runtime)",
    "Total (runtime)",
    "Min (mem)",
    "Max (mem)",
    "Mean (mem)",
    "Min (avg. cpu)",
    "Max (avg. cpu)",
    "Mean (avg. cpu)",
)
TX_WIDTHS = (15, 5, 6, 14, 14, 21, 22, 10, 10, 11, 15, 15, 16)
TIME_WIDTHS = (30, 20, 20)
TIME_HOST_WIDTHS = (23, 25, 10, 20)

LEGEND_SUMMARY = """
#
# Pegasus Workflow Management System - http://pegasus.isi.edu
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
#   reported by the DAGMAN.In case of rescue dag the value is the
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
#   from the sub workflows as well."""

LEGEND_JOBS = """
# Job            - name of the job
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
#                  Kickstart"""

LEGEND_BREAKDOWN = """
# Transformation   - name of the transformation.
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
#                    to the transformation."""

LEGEND_TIME = """
# Job instance statistics per FILTER:
#   the number of job instances run, total runtime sorted by FILTER
# Invocation statistics per FILTER:
#   the number of invocations , total runtime sorted by FILTER
# Job instance statistics by host per FILTER:
#   the number of job instance run, total runtime on each host sorted by FILTER
# Invocation by host per FILTER:
#   the number of invocations, total runtime on each host sorted by FILTER
"""


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


def fstr(value: float | None, to: int = 3) -> str:
    return "-" if value is None else str(round(float(value), to))


def pstr(value: float | None, to: int = 2) -> str:
    return "-" if value is None else str(round(float(value), to)) + "%"


def row(values: Sequence[str], widths: Sequence[int]) -> str:
    return "".join(v.ljust(widths[i]) for i, v in enumerate(values))


def _count_row(name: str, c: CountRow) -> list[str]:
    return [
        name,
        str(c.succeeded),
        str(c.failed),
        str(c.incomplete),
        str(c.total),
        str(c.retries),
        str(c.total_retries),
    ]


def render_summary_table(s: Summary) -> str:
    rule = "-" * sum(SUMMARY_WIDTHS) + "\n"
    out = rule + row(SUMMARY_HEADER, SUMMARY_WIDTHS) + "\n"
    out += row(_count_row("Tasks", s.tasks), SUMMARY_WIDTHS) + "\n"
    out += row(_count_row("Jobs", s.jobs), SUMMARY_WIDTHS) + "\n"
    out += row(_count_row("Sub-Workflows", s.sub_workflows), SUMMARY_WIDTHS) + "\n"
    return out + rule + "\n"


def render_time_summary(s: Summary, multiple: bool = False) -> str:
    lines = []
    if not multiple:
        lines.append(("Workflow wall time", s.workflow_wall_time))
    lines += [
        ("Cumulative job wall time", s.cum_job_wall_time),
        ("Cumulative job wall time as seen from submit side", s.submit_side_wall_time),
        ("Cumulative job badput wall time", s.cum_job_badput),
        ("Cumulative job badput wall time as seen from submit side", s.submit_side_badput),
    ]
    out = "".join(f"{label:<57}: {format_seconds(value)}\n" for label, value in lines)
    if s.integrity:
        out += (
            "\n# Integrity Metrics\n# Number of files for which checksums were "
            "compared/computed along with total time spent doing it. \n"
        )
        for m in s.integrity:
            kind = {"check": "compared", "compute": "generated"}.get(m.type, m.type)
            # stampede's Numeric(10,3) sums arrive as Decimal: "0.00 secs", not "0.0 secs"
            out += (
                f"{m.count} files checksums {kind} with total duration of "
                f"{format_seconds(Decimal(f'{m.duration:.3f}'))}\n"
            )
        out += (
            "\n# Integrity Errors\n# Total:\n#       Total number of integrity errors encountered "
            "across all job executions(including retries) of a workflow.\n# Failures:\n"
            "#       Number of failed jobs where the last job instance had integrity errors.\n"
        )
        if s.integrity_errors is not None:
            out += (
                f"Total:    A total of {s.integrity_errors} integrity errors encountered "
                "in the workflow\n"
            )
        out += (
            f"Failures: {s.failed_jobs_with_integrity_errors} job failures had integrity errors\n"
        )
    return out


def render_summary(s: Summary) -> str:
    """The whole `summary.txt` (legend, table, time lines)."""
    return LEGEND_SUMMARY + "\n" + render_summary_table(s) + render_time_summary(s)


def render_workflow_block(
    title: str, tasks: CountRow, jobs: CountRow, subwfs: CountRow, wf_retries: int
) -> str:
    """One block of `workflow.txt` (`print_individual_workflow_stats`)."""
    rule = "-" * sum(WORKFLOW_WIDTHS) + "\n"
    last = WORKFLOW_WIDTHS[-1]
    head = row([title, str(wf_retries)], [sum(WORKFLOW_WIDTHS) - last, last]) + "\n"
    body = "".join(
        row([*_count_row(name, c), ""], WORKFLOW_WIDTHS) + "\n"
        for name, c in (("Tasks", tasks), ("Jobs", jobs), ("Sub-Workflows", subwfs))
    )
    return "\n" + rule + head + body


def _raw(value: float | int | None, scale: int | None) -> str:
    """How Pegasus's Numeric columns print (`3.000`), for its column-width arithmetic."""
    if value is None:
        return "None"
    if scale is None:
        return str(value)
    return f"{float(value):.{scale}f}"


def render_jobs(title: str, rows: Sequence[JobRow]) -> str:
    """One workflow's section of `jobs.txt` (widths grow to fit, as Pegasus computes them)."""
    widths = [len(h) for h in JOB_HEADER]
    cells = []
    for r in rows:
        raw = [
            r.job,
            str(r.try_),
            r.site or " ",
            _raw(r.kickstart, 3),
            str(r.multiplier),
            _raw(r.kickstart_mult, 3),
            _raw(r.cpu_time, 3),
            _raw(r.post, 6),
            _raw(r.condor_q_time, 6),
            _raw(r.resource, 6),
            _raw(r.runtime, 3),
            _raw(r.seqexec, 3),
            _raw(r.seqexec_delay, 3),
            str(r.exitcode),
            r.hostname or "None",
        ]
        widths = [max(w, len(v)) for w, v in zip(widths, raw, strict=True)]
        cells.append(
            [
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
                str(r.hostname),
            ]
        )
    widths = [w + 1 for w in widths]
    out = f"\n# {title}\n" + row(JOB_HEADER, widths) + "\n"
    for c in cells:
        out += row(c, widths) + "\n"
    return out


def render_breakdown(title: str, rows: Sequence[TransformationRow]) -> str:
    """One section of `breakdown.txt` (`print_wf_transformation_stats`)."""
    widths = [len(h) for h in TX_HEADER]
    contents = []
    for t in rows:
        raw = [
            t.transformation,
            t.type,
            str(t.count),
            _raw(t.min, 3),
            _raw(t.max, 3),
            str(t.mean),
            _raw(t.total, 3),
            str(t.min_maxrss),
            str(t.max_maxrss),
            str(t.mean_maxrss),
            str(t.min_avg_cpu),
            str(t.max_avg_cpu),
            str(t.mean_avg_cpu),
        ]
        widths = [max(w, len(v)) for w, v in zip(widths, raw, strict=True)]
        contents.append(
            [
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
        )
    widths = [w + 1 for w in widths]
    report = ["\n", f"# {title}"]
    if contents:
        report.append(row([h.ljust(widths[i]) for i, h in enumerate(TX_HEADER)], TX_WIDTHS))
    for c in contents:
        report.append(row([v.ljust(widths[i]) for i, v in enumerate(c)], TX_WIDTHS))
    return "\n".join(report) + "\n"


def render_integrity(title: str, metrics: Sequence[IntegrityMetric]) -> str:
    widths = [len("Type"), len("File Type"), len("Count"), len("Total Duration")]
    for m in metrics:
        widths = [
            max(widths[0], len(m.type)),
            max(widths[0], len(m.file_type or "")),
            max(widths[1], len(str(m.count))),
            max(widths[2], len(f"{m.duration:.3f}")),
        ]
    widths = [w + 1 for w in widths]
    report = ["\n", f"# {title}"]
    header = ["Type", "File Type", "Count", "Total Duration"]
    if metrics:
        report.append(row([h.ljust(widths[i]) for i, h in enumerate(header)], (10, 15, 10, 25)))
    for m in metrics:
        # Numeric(10,3) as pegasus-statistics prints it: 0.000, 0.141
        vals = [m.type, m.file_type or "", str(m.count), f"{m.duration:.3f}"]
        report.append(row([v.ljust(widths[i]) for i, v in enumerate(vals)], (10, 15, 10, 25)))
    return "\n".join(report) + "\n"


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
    report = [LEGEND_TIME.replace("FILTER", unit)]
    report.append(f"\n# Job instances statistics per {unit}")
    report.append(row(header, TIME_WIDTHS))
    for label, _, count, rt in _buckets(ts.jobs, unit):
        report.append(row([label, str(count), fstr(rt)], TIME_WIDTHS))
    report.append(f"\n# Invocation statistics run per {unit}")
    report.append(row(header, TIME_WIDTHS))
    for label, _, count, rt in _buckets(ts.invocations, unit):
        report.append(row([label, str(count), fstr(rt)], TIME_WIDTHS))
    report.append(f"\n# Job instances statistics on host per {unit}")
    report.append(row(host_header, TIME_HOST_WIDTHS))
    for label, host, count, rt in _buckets(ts.jobs_per_host, unit):
        report.append(row([label, str(host), str(count), fstr(rt)], TIME_HOST_WIDTHS))
    report.append(f"\n# Invocation statistics on host per {unit}")
    report.append(row(host_header, TIME_HOST_WIDTHS))
    for label, host, count, rt in _buckets(ts.invocations_per_host, unit):
        report.append(row([label, str(host), str(count), fstr(rt)], TIME_HOST_WIDTHS))
    return report[0] + "\n".join(report[1:])


def render_hosts(rows: Sequence[HostRow]) -> str:
    """Aerie's per-host table (pegasus-statistics has only the per-host time series)."""
    header = ["Host", "Site", "Jobs", "Job runtime", "Invocations", "Invocation runtime"]
    widths = [max([len(header[0]), *(len(r.hostname) for r in rows)]) + 1, 15, 8, 14, 13, 20]
    out = row(header, widths) + "\n"
    for r in rows:
        out += (
            row(
                [
                    r.hostname,
                    r.site or "-",
                    str(r.job_instances),
                    fstr(r.job_runtime),
                    str(r.invocations),
                    fstr(r.invocation_runtime),
                ],
                widths,
            )
            + "\n"
        )
    return out
