"""dagman.out: DAGMan's debug log, read the way pegasus-status and pegasus-monitord read it.

Two readers share one pass over the file:
- `read_progress` keeps the last node-count table and DAG status, which is all pegasus-status
  shows for a DAG (its counts are DAGMan's node counts, not Pegasus's job counts);
- `read_dagman_events` keeps what monitord takes from it beyond jobstate.log: hold reasons and
  DAGMan starts and exits, with local timestamps resolved through the submit host's UTC offset.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

DAG_OK = "Running"
DAG_DONE = "Success"
DAG_FAIL = "Failure"

_STAMP = r"(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)"
_DAG_STATUS = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d DAG status")
_NODES_TOTAL = re.compile(r"nodes total:")
_PROGRESS = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d(\s+([0-9]+)){7}")
EXITING = re.compile(r"EXITING WITH STATUS (-?\d+)")
_STARTING = re.compile(_STAMP + r" \*\* condor_scheduniv_exec\.(\S+) \(CONDOR_DAGMAN\) STARTING UP")
_EXIT_LINE = re.compile(
    _STAMP + r" \*\*\*\* condor_scheduniv_exec\.\S+ \(condor_DAGMAN\).*EXITING WITH STATUS (-?\d+)"
)
_HELD = re.compile(_STAMP + r" Event: ULOG_JOB_HELD for (?:HTCondor|Condor) Node (\S+) ")
_HOLD_REASON = re.compile(_STAMP + r"\s+Hold reason: (.*)$")


@dataclass
class DagProgress:
    """One DAG's row of pegasus-status: the last node-count table in its dagman.out.

    `gateway.services.provenance.DagProgress` is the same row built from provenance rows, for
    runs whose submit directory is gone; it stays separate because the gateway may not import
    the worker, and this one also carries the file it came from and DAGMan's exit status.
    """

    dagman_out: Path
    dagname: str
    unready: int = 0
    ready: int = 0
    pre: int = 0
    queued: int = 0
    post: int = 0
    succeeded: int = 0
    failed: int = 0
    total: int = 0
    percent_done: float = 0.0
    state: str = DAG_OK
    dag_status: int = 0  # DAGMan's last `DAG status: N` (0 ok, 2 node failed, …)
    exit_status: int | None = None  # `EXITING WITH STATUS N`, once DAGMan has exited

    def as_dict(self) -> dict[str, object]:
        return {
            "unready": self.unready,
            "ready": self.ready,
            "pre": self.pre,
            "queued": self.queued,
            "post": self.post,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "percent_done": self.percent_done,
            "total": self.total,
            "dagname": self.dagname,
            "state": self.state,
        }


def read_progress(path: Path, dagname: str | None = None) -> DagProgress:
    """Replays pegasus-status' per-line rules so that partial logs give its numbers too."""
    progress = DagProgress(path, dagname or path.name.removesuffix(".dagman.out"))
    dag_status = 0
    total_nodes = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if _DAG_STATUS.match(line):
                dag_status = int(line.split()[4])
            if _NODES_TOTAL.search(line):
                total_nodes = int(line.split()[3])
            if _PROGRESS.match(line):
                values = [int(v) for v in line.split()[2:9]]
                done, pre, queued, post, ready, unready, failed = values
                progress.succeeded, progress.pre, progress.queued = done, pre, queued
                progress.post, progress.ready, progress.unready = post, ready, unready
                progress.failed, progress.total = failed, total_nodes
                progress.percent_done = (
                    float(f"{done / total_nodes * 100:.2f}") if total_nodes else 0.0
                )
                if dag_status:
                    progress.state = DAG_FAIL
                elif progress.percent_done == 100.0:
                    progress.state = DAG_DONE
                else:
                    progress.state = DAG_OK
            exiting = EXITING.search(line)
            if exiting:
                progress.exit_status = int(exiting.group(1))
                progress.state = DAG_FAIL if progress.exit_status else DAG_DONE
    progress.dag_status = dag_status
    return progress


@dataclass
class WorkflowProgress:
    """pegasus-status' progress part for a submit directory and its sub-workflow directories."""

    root: DagProgress | None
    subs: list[DagProgress] = field(default_factory=list)

    @property
    def dags(self) -> list[DagProgress]:
        return ([self.root] if self.root else []) + self.subs

    def totals(self) -> dict[str, float | int]:
        keys = ("unready", "ready", "pre", "queued", "post", "succeeded", "failed", "total")
        sums: dict[str, float | int] = {k: sum(getattr(d, k) for d in self.dags) for k in keys}
        total = int(sums["total"])
        sums["percent_done"] = (
            float(f"{int(sums['succeeded']) / total * 100:.2f}") if total else 0.0
        )
        return sums

    def state_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for dag in self.dags:
            counts[dag.state] = counts.get(dag.state, 0) + 1
        return counts


def workflow_progress(submit_dir: Path, *, show_dirs: bool = False) -> WorkflowProgress:
    """Every `*.dag.dagman.out` under the submit dir (symlinks not followed, as pegasus-status).

    The one directly in `submit_dir` is the root DAG; the others are sub-workflows, named by
    their DAG file (with their relative directory when `show_dirs`).
    """
    root: DagProgress | None = None
    subs: list[DagProgress] = []
    for current, _dirs, files in os.walk(submit_dir, topdown=True, followlinks=False):
        for name in sorted(files):
            if not name.endswith(".dag.dagman.out"):
                continue
            path = Path(current) / name
            dagname = name.removesuffix(".dagman.out")
            if Path(current) == submit_dir:
                root = read_progress(path, dagname)
            else:
                rel = os.path.relpath(current, submit_dir)
                subs.append(read_progress(path, f"{rel}/{dagname}" if show_dirs else dagname))
    return WorkflowProgress(root, subs)


@dataclass(frozen=True)
class DagmanRun:
    """One DAGMan process lifetime: its condor id, start and (if seen) exit status."""

    condor_id: str
    started: int
    finished: int | None
    status: int | None


@dataclass
class DagmanEvents:
    runs: list[DagmanRun] = field(default_factory=list)
    hold_reasons: dict[str, list[str]] = field(default_factory=dict)


def local_epoch(stamp: str, offset: timedelta | None) -> int:
    """`MM/DD/YY hh:mm:ss` in the submit host's local time → epoch seconds.

    DAGMan writes local wall-clock time without a zone; the braindump timestamp carries the
    submit host's UTC offset, which is the best available witness of that zone.
    """
    naive = datetime.strptime(stamp, "%m/%d/%y %H:%M:%S")
    zone = timezone(offset) if offset is not None else None
    aware = naive.replace(tzinfo=zone) if zone else naive.astimezone()
    return int(aware.timestamp())


def read_dagman_events(path: Path, offset: timedelta | None) -> DagmanEvents:
    events = DagmanEvents()
    started: tuple[str, int] | None = None
    last_held: str | None = None
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = _STARTING.match(line)
            if match:
                if started is not None:
                    events.runs.append(DagmanRun(started[0], started[1], None, None))
                started = (match.group(2), local_epoch(match.group(1), offset))
                continue
            match = _EXIT_LINE.match(line)
            if match:
                when = local_epoch(match.group(1), offset)
                condor_id, start = started if started else ("", when)
                events.runs.append(DagmanRun(condor_id, start, when, int(match.group(2))))
                started = None
                continue
            match = _HELD.match(line)
            if match:
                last_held = match.group(2)
                continue
            match = _HOLD_REASON.match(line)
            if match and last_held is not None:
                events.hold_reasons.setdefault(last_held, []).append(match.group(2).strip())
                last_held = None
    if started is not None:
        events.runs.append(DagmanRun(started[0], started[1], None, None))
    return events
