"""Incremental reader of DAGMan's JOBSTATE_LOG (`jobstate.log`), from a byte offset.

The monitor takes from it what the node event log does not carry: DAGMan (re)starts and exits
(workflow states), PRE-script states, and POST_SCRIPT_STARTED. Lines (htcondor SPEC §1.7):
`<ts> INTERNAL *** DAGMAN_STARTED <id> ***`, `<ts> INTERNAL *** DAGMAN_FINISHED <exit> ***`,
`<ts> <node> <EVENT> <condor id | value | -> <site | -> <walltime | -> <sequence>`.
The line grammar is the importer's (`worker.pegasus_import.jobstate.split_jobstate_line`); this
reader differs in following a growing file: it starts at a byte offset and leaves a line that
has no newline yet for the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from worker.pegasus_import.jobstate import split_jobstate_line


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
            f = split_jobstate_line(words)
        except ValueError:
            raise JobstateLogError(path, n, f"no timestamp in {raw[:80]!r}") from None
        except IndexError:
            raise JobstateLogError(
                path, n, f"expected '<ts> <node> <event> ...': {raw[:80]!r}"
            ) from None
        seq = f.sequence
        out.append(
            JobstateLine(
                f.timestamp,
                f.node,
                f.event,
                f.value,
                f.site,
                int(seq) if seq and seq.lstrip("-").isdigit() else None,
            )
        )
    return out, offset + cut
