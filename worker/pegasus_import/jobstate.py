"""jobstate.log: monitord's (and our engines') one-line-per-event journal of every DAG node.

Line format: `<epoch> <node> <STATE> <status|condor id|-> <site|-> <walltime|-> <job_submit_seq>`,
plus `INTERNAL *** <EVENT> <arg> ***` lines for DAGMan and monitord starts and ends.
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


def _dash(value: str) -> str | None:
    return None if value == "-" else value


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
            timestamp = int(float(words[0]))
            if words[1] == "INTERNAL":
                # 1677911023 INTERNAL *** DAGMAN_STARTED 1.0 ***
                inner = [w for w in words[2:] if w != "***"]
                internal.append(
                    InternalEvent(number, timestamp, inner[0], inner[1] if len(inner) > 1 else None)
                )
                continue
            seq = _dash(words[6]) if len(words) > 6 else None
            lines.append(
                JobstateLine(
                    line=number,
                    timestamp=timestamp,
                    job=words[1],
                    state=words[2],
                    info=_dash(words[3]) if len(words) > 3 else None,
                    site=_dash(words[4]) if len(words) > 4 else None,
                    submit_seq=int(seq) if seq is not None else None,
                )
            )
        except (IndexError, ValueError) as exc:
            if last:
                break
            raise SubmitDirError(path, f"malformed jobstate line: {raw!r}", line=number) from exc
    return Jobstate(path, lines, internal)
