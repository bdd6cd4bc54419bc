"""Incremental reader of DAGMan's JOBSTATE_LOG (`jobstate.log`), from a byte offset.

The monitor takes from it what the node event log does not carry: DAGMan (re)starts and exits
(workflow states), PRE-script states, and POST_SCRIPT_STARTED. Lines (htcondor SPEC §1.7):
`<ts> INTERNAL *** DAGMAN_STARTED <id> ***`, `<ts> INTERNAL *** DAGMAN_FINISHED <exit> ***`,
`<ts> <node> <EVENT> <condor id | value | -> <site | -> <walltime | -> <sequence>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class JobstateLogError(ValueError):
    """A line that is neither an INTERNAL line nor a node event, with its place."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")


@dataclass(slots=True)
class JobstateLine:
    timestamp: float
    node: str  # "INTERNAL" for DAGMan's own lines
    event: str
    value: str | None = None  # condor id, return value, DAGMan exit code
    site: str | None = None
    sequence: int | None = None


def read_jobstate(path: Path, offset: int = 0) -> tuple[list[JobstateLine], int]:
    """Complete lines of `path` after byte `offset`, and the offset after the last of them."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    cut = data.rfind(b"\n") + 1
    out: list[JobstateLine] = []
    for n, raw in enumerate(data[:cut].decode("utf-8", "replace").splitlines(), start=1):
        words = raw.split()
        if not words:
            continue
        try:
            ts = float(words[0])
        except ValueError:
            raise JobstateLogError(path, n, f"no timestamp in {raw[:80]!r}") from None
        if len(words) >= 4 and words[1] == "INTERNAL" and words[2] == "***":
            value = words[4] if len(words) > 5 else None
            out.append(JobstateLine(ts, "INTERNAL", words[3], value))
            continue
        if len(words) < 3:
            raise JobstateLogError(path, n, f"expected '<ts> <node> <event> ...': {raw[:80]!r}")
        fields = [w if w != "-" else None for w in words] + [None] * 7
        seq = fields[6]
        out.append(
            JobstateLine(
                ts,
                words[1],
                words[2],
                fields[3],
                fields[4],
                int(seq) if seq and seq.lstrip("-").isdigit() else None,
            )
        )
    return out, offset + cut
