"""JOBSTATE_LOG writer: DAGMan's one-event-per-line history that Pegasus monitoring reads.

Line shapes (htcondor SPEC §1.7, pegasus SPEC §4.5):
`<epoch> <node> <EVENT> <condor id | value | -> <job tag | -> - <sequence>` and the meta lines
`<epoch> INTERNAL *** DAGMAN_STARTED <id> ***` / `*** DAGMAN_FINISHED <status> ***` /
`*** RECOVERY_STARTED ***` / `*** RECOVERY_FINISHED ***`.
The sequence number counts node attempts and continues across rescue and recovery runs, so
it is read back from the existing file at start.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO


def last_sequence(path: Path) -> int:
    """Highest sequence number already in the log (0 for a new log)."""
    if not path.exists():
        return 0
    highest = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 7 and parts[1] != "INTERNAL" and parts[6].isdigit():
                highest = max(highest, int(parts[6]))
    return highest


class JobStateLog:
    """Appends jobstate lines; `next_sequence()` hands out per-attempt sequence numbers."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._sequence = last_sequence(self.path)
        self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def next_sequence(self) -> int:
        self._sequence += 1
        return self._sequence

    def internal(self, text: str, when: float | None = None) -> None:
        self._file.write(
            f"{int(when if when is not None else time.time())} INTERNAL *** {text} ***\n"
        )

    def event(
        self, when: float, node: str, event: str, value: str, tag: str | None, sequence: int
    ) -> None:
        self._file.write(f"{int(when)} {node} {event} {value} {tag or '-'} - {sequence}\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
