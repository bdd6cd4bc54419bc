"""DAG progress counts, from the NODE_STATUS_FILE or from `dagman.out` (pegasus-status's source).

Both give DAGMan's own node counts (Done, Pre, Queued, Post, Ready, Un-Ready, Failed, Futile),
which is what pegasus-status prints; the monitor stores the latest in the `dagstatus` row.

The importer reads dagman.out too (`worker.pegasus_import.dagman_out.read_progress`), but by
pegasus-status's own per-line rules, for parity with its output on Pegasus runs; this scanner
reads the table by its layout instead, because the monitor also keeps what pegasus-status drops
(Futile and held counts, the table's time) and is fed a growing file chunk by chunk. The time
stamps and the exit line are read by the importer's rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import classad2

from worker.pegasus_import.dagman_out import EXITING, local_epoch


@dataclass
class Progress:
    timestamp: float | None = None
    dag_status: int = 0
    nodes_total: int = 0
    done: int = 0
    pre: int = 0
    queued: int = 0
    post: int = 0
    ready: int = 0
    unready: int = 0
    failed: int = 0
    futile: int = 0
    held: int = 0
    exit_status: int | None = None


_AD_FIELDS = {
    "nodes_total": "NodesTotal",
    "done": "NodesDone",
    "pre": "NodesPre",
    "queued": "NodesQueued",
    "post": "NodesPost",
    "ready": "NodesReady",
    "unready": "NodesUnready",
    "failed": "NodesFailed",
    "futile": "NodesFutile",
    "held": "JobProcsHeld",
}
# The status file's DagStatus is a node-style code (5 DONE, 6 ERROR, 7 FUTILE, ...), not
# dagman.out's "DAG status" (0 OK); only ERROR and FUTILE mean the DAG went wrong.
_FAILED_DAG = (6, 7)


def read_node_status(path: Path) -> Progress | None:
    """The DagStatus ad of a node status file, or None if the file has none (yet)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        # DAGMan writes the DagStatus ad first: stop there instead of parsing one ad per node
        ad = next(
            (a for a in classad2.parseAds(text) if str(a.get("Type", "")) == "DagStatus"), None
        )
    except Exception:  # a file caught mid-rewrite; the next pass reads it again
        return None
    if ad is not None:
        prog = Progress()
        for attr, key in _AD_FIELDS.items():
            value = ad.get(key)
            if isinstance(value, int):
                setattr(prog, attr, value)
        code = ad.get("DagStatus")
        prog.dag_status = 1 if isinstance(code, int) and code in _FAILED_DAG else 0
        ts = ad.get("Timestamp")
        prog.timestamp = float(ts) if isinstance(ts, int | float) else path.stat().st_mtime
        return prog
    return None


_STATUS = re.compile(r"DAG status: (-?\d+)")
_TOTAL = re.compile(r"Of (\d+) nodes total:")
_STAMP = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d)")


def _stamp(line: str) -> float | None:
    """DAGMan's local wall-clock prefix; the monitor runs on the submit host, so its zone."""
    m = _STAMP.match(line)
    return None if m is None else float(local_epoch(m.group(1), None))


def scan_dagman_out(text: str, prog: Progress | None = None) -> Progress | None:
    """Update `prog` with the last progress table, DAG status and exit status in `text`."""
    lines = text.splitlines()
    found = prog is not None
    prog = prog or Progress()
    for i, line in enumerate(lines):
        if "Of " in line and "nodes total:" in line:
            m = _TOTAL.search(line)
            if m and i + 3 < len(lines):
                # header line, dashes line, numbers line
                nums = lines[i + 3].split()
                counts = [int(w) for w in nums if w.isdigit()]
                if len(counts) >= 7:
                    found = True
                    prog.nodes_total = int(m.group(1))
                    prog.done, prog.pre, prog.queued, prog.post = counts[0:4]
                    prog.ready, prog.unready, prog.failed = counts[4:7]
                    prog.futile = counts[7] if len(counts) > 7 else 0
                    prog.timestamp = _stamp(line) or prog.timestamp
            continue
        if "job proc(s) currently held" in line:
            words = line.split()
            idx = words.index("job") if "job" in words else 0
            if idx and words[idx - 1].isdigit():
                prog.held = int(words[idx - 1])
            continue
        m = _STATUS.search(line)
        if m:
            prog.dag_status = int(m.group(1))
            continue
        if "EXITING WITH STATUS" in line:
            m = EXITING.search(line)
            if m:
                found = True
                prog.exit_status = int(m.group(1))
                prog.timestamp = _stamp(line) or prog.timestamp
        elif "(CONDOR_DAGMAN) STARTING UP" in line:
            prog.exit_status = None
    return prog if found else None
