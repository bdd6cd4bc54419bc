"""`<dag>.dagman.out` writer: the DAGMan debug-log lines that monitors and people key on.

Only the lines documented in htcondor SPEC §1.7 are promised (event lines, node completion and
failure lines, the `Of N nodes total:` table, the `EXITING WITH STATUS` line); everything else
is informational. Lines carry DaemonCore's `MM/DD/YY HH:MM:SS` prefix in local time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

EVENT_NAMES = {
    0: "ULOG_SUBMIT",
    1: "ULOG_EXECUTE",
    5: "ULOG_JOB_TERMINATED",
    6: "ULOG_IMAGE_SIZE",
    9: "ULOG_JOB_ABORTED",
    12: "ULOG_JOB_HELD",
    16: "ULOG_POST_SCRIPT_TERMINATED",
}


class DagmanOut:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self._stamp_second = -1
        self._stamp = ""

    def _prefix(self) -> str:
        now = int(time.time())
        if now != self._stamp_second:
            self._stamp_second = now
            self._stamp = time.strftime("%m/%d/%y %H:%M:%S ", time.localtime(now))
        return self._stamp

    def line(self, text: str) -> None:
        self._file.write(self._prefix() + text + "\n")

    def event(self, code: int, node: str, cluster: int, when: float) -> None:
        stamp = time.strftime("%m/%d/%y %H:%M:%S", time.localtime(when))
        self.line(
            f"Event: {EVENT_NAMES[code]} for HTCondor Node {node} ({cluster}.0.0) {{{stamp}}}"
        )

    def table(
        self, dag_status: int, status_name: str, counts: dict[str, int], held: int = 0
    ) -> None:
        self.line(f"DAG status: {dag_status} ({status_name})")
        self.line(f"Of {counts['Total']} nodes total:")
        self.line(" Done     Pre   Queued    Post   Ready   Un-Ready   Failed   Futile")
        self.line("  ===     ===      ===     ===     ===        ===      ===      ===")
        self.line(
            f"{counts['Done']:>5} {counts['Pre']:>7} {counts['Queued']:>8} {counts['Post']:>7}"
            f" {counts['Ready']:>7} {counts['Unready']:>10} {counts['Failed']:>8}"
            f" {counts['Futile']:>8}"
        )
        self.line(f"{held} job proc(s) currently held")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()
