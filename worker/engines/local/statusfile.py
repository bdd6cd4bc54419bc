"""NODE_STATUS_FILE writer: DAGMan's snapshot of every node, as new-ClassAd records.

The file is rewritten (to a temporary name, then renamed) so readers never see a half file.
Status codes are DAGMan's: 0 NOT_READY, 1 READY, 2 PRERUN, 3 SUBMITTED, 4 POSTRUN, 5 DONE,
6 ERROR, 7 FUTILE; the DagStatus ad uses the same codes for the DAG as a whole.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

STATUS_NAMES = [
    "STATUS_NOT_READY",
    "STATUS_READY",
    "STATUS_PRERUN",
    "STATUS_SUBMITTED",
    "STATUS_POSTRUN",
    "STATUS_DONE",
    "STATUS_ERROR",
    "STATUS_FUTILE",
]


@dataclass(frozen=True)
class NodeSnapshot:
    name: str
    status: int
    details: str
    retry_count: int
    procs_queued: int
    procs_held: int = 0


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(
    dag_files: list[str],
    dag_status: int,
    counts: dict[str, int],
    nodes: Iterable[NodeSnapshot],
    next_update: float,
    now: float | None = None,
) -> str:
    """Render the whole status file; `counts` has keys Done, Pre, Queued, Post, Ready, Unready,
    Failed, Futile and Total."""
    stamp = int(now if now is not None else time.time())
    files = ",\n".join(f"    {_quote(f)}" for f in dag_files)
    out = [
        "[",
        '  Type = "DagStatus";',
        f"  DagFiles = {{\n{files}\n  }};",
        f"  Timestamp = {stamp}; /* {_quote(time.ctime(stamp))} */",
        f"  DagStatus = {dag_status}; /* {_quote(STATUS_NAMES[dag_status])} */",
        f"  NodesTotal = {counts['Total']};",
        f"  NodesDone = {counts['Done']};",
        f"  NodesPre = {counts['Pre']};",
        f"  NodesQueued = {counts['Queued']};",
        f"  NodesPost = {counts['Post']};",
        f"  NodesReady = {counts['Ready']};",
        f"  NodesUnready = {counts['Unready']};",
        f"  NodesFutile = {counts['Futile']};",
        f"  NodesFailed = {counts['Failed']};",
        "  JobProcsHeld = 0;",
        "  JobProcsIdle = 0;",
        "]",
    ]
    for node in nodes:
        out += [
            "[",
            '  Type = "NodeStatus";',
            f"  Node = {_quote(node.name)};",
            f"  NodeStatus = {node.status}; /* {_quote(STATUS_NAMES[node.status])} */",
            f"  StatusDetails = {_quote(node.details)};",
            f"  RetryCount = {node.retry_count};",
            f"  JobProcsQueued = {node.procs_queued};",
            f"  JobProcsHeld = {node.procs_held};",
            "]",
        ]
    nxt = int(next_update)
    out += [
        "[",
        '  Type = "StatusEnd";',
        f"  EndTime = {stamp}; /* {_quote(time.ctime(stamp))} */",
        f"  NextUpdate = {nxt}; /* {_quote(time.ctime(nxt) if nxt else 'none')} */",
        "]",
    ]
    return "\n".join(out) + "\n"


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
