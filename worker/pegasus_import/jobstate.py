"""jobstate.log: monitord's (and our engines') one-line-per-event journal of every DAG node.

Line format: `<epoch> <node> <STATE> <status|condor id|-> <site|-> <walltime|-> <job_submit_seq>`,
plus `INTERNAL *** <EVENT> <arg> ***` lines for DAGMan and monitord starts and ends.

`split_jobstate_line` is the grammar of one line, shared with the monitor's reader
(`worker.monitor.jobstate`). The two readers stay apart because they read differently: this one
reads a finished run's whole file, numbering lines for errors and keeping a last line without
its newline when it is complete; the monitor's follows a growing file from a byte offset and
leaves any line without its newline for its next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from worker.pegasus_import.errors import SubmitDirError


@dataclass(frozen=True)
class JobstateLine:
    line: int
    timestamp: int
    job: str
    state: str
    info: str | None  # status code or condor id, None for "-"
    site: str | None
    submit_seq: int | None


@dataclass(frozen=True)
class InternalEvent:
    line: int
    timestamp: int
    event: str  # DAGMAN_STARTED, DAGMAN_FINISHED, MONITORD_STARTED, MONITORD_FINISHED
    argument: str | None


@dataclass
class Jobstate:
    path: Path
    lines: list[JobstateLine]
    internal: list[InternalEvent]


@dataclass(frozen=True, slots=True)
class JobstateFields:
    """The words of one line, `-` made None; the readers convert and check the rest."""

    timestamp: float
    node: str  # "INTERNAL" for DAGMan's and monitord's own lines
    event: str
    value: str | None  # condor id, return value or DAGMan exit code; an INTERNAL line's argument
    site: str | None
    sequence: str | None  # left as text: the importer refuses a bad one, the monitor drops it


def split_jobstate_line(words: list[str]) -> JobstateFields:
    """One line's words in either shape; ValueError for a bad time, IndexError for too few words."""
    timestamp = float(words[0])
    if words[1] == "INTERNAL":
        # 1677911023 INTERNAL *** DAGMAN_STARTED 1.0 ***
        inner = [w for w in words[2:] if w != "***"]
        argument = inner[1] if len(inner) > 1 else None
        return JobstateFields(timestamp, "INTERNAL", inner[0], argument, None, None)
    event = words[2]
    rest = [None if w == "-" else w for w in words[3:7]] + [None] * 4
    return JobstateFields(timestamp, words[1], event, rest[0], rest[1], rest[3])


def read_jobstate(path: Path) -> Jobstate:
    """Parse jobstate.log; a truncated last line (monitord killed mid-write) is ignored."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SubmitDirError(path, f"cannot read jobstate log: {exc.strerror}") from exc
    rows = text.splitlines()
    lines: list[JobstateLine] = []
    internal: list[InternalEvent] = []
    for number, raw in enumerate(rows, start=1):
        words = raw.split()
        if not words:
            continue
        last = number == len(rows) and not text.endswith("\n")
        if last and len(words) < 7 and words[1:2] != ["INTERNAL"]:
            break  # a line monitord was still writing
        try:
            split = split_jobstate_line(words)
            timestamp = int(split.timestamp)
            if split.node == "INTERNAL":
                internal.append(InternalEvent(number, timestamp, split.event, split.value))
                continue
            lines.append(
                JobstateLine(
                    line=number,
                    timestamp=timestamp,
                    job=split.node,
                    state=split.event,
                    info=split.value,
                    site=split.site,
                    submit_seq=int(split.sequence) if split.sequence is not None else None,
                )
            )
        except (IndexError, ValueError) as exc:
            if last:
                break
            raise SubmitDirError(path, f"malformed jobstate line: {raw!r}", line=number) from exc
    return Jobstate(path, lines, internal)
