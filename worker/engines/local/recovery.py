"""Recovering a run whose engine died (SIGKILL, OOM, reboot) — DAGMan's recovery mode.

A killed engine writes nothing, so what survives is what it had already flushed: the node
event log, the lock file and the list of process ids it started. On restart:

1. Orphans: every process the dead engine started that is still alive (same pid *and* same
   start time in /proc, same boot) gets SIGTERM, then SIGKILL after a grace period. A nested
   SUBDAG engine thus writes its own rescue DAG before it goes.
2. Partial tails are cut: an event or jobstate line half-written at the moment of death would
   make later appends unreadable for `htcondor2.JobEventLog`.
3. `<dag>.nodes.log` is replayed from where the dead run started (offset kept in the lock
   file): a node whose last attempt ended in success — job terminated with 0 and no POST, or
   a POST-terminated event with 0 — is done and is not run again. Failed attempts count
   against RETRY. A node that was queued, running or waiting for its POST when the engine
   died is run again from its PRE script (DAGMan would re-run only the POST in the last case;
   re-running the whole node is simpler and equally correct for idempotent jobs).
"""

from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from worker.engines.local import process as proc

_HEADER = re.compile(r"^(\d{3}) \((\d+)\.(\d+)\.(\d+)\) ")
_RETURN = re.compile(r"\(return value (-?\d+)\)")
_SIGNAL = re.compile(r"\(signal (\d+)\)")


@dataclass
class NodeReplay:
    attempts: int = 0
    failures: int = 0
    state: str = "none"  # queued | post | done | failed
    last_cluster: int = 0


def truncate_partial_events(path: Path) -> None:
    """Cut an event log after its last complete event (its last `...` line)."""
    if not path.exists():
        return
    data = path.read_bytes()
    if not data or data.endswith(b"...\n"):
        return
    end = data.rfind(b"\n...\n")
    keep = 0 if end < 0 else end + len(b"\n...\n")
    if data.startswith(b"...\n") and end < 0:
        keep = 4
    with open(path, "r+b") as handle:
        handle.truncate(keep)


def truncate_partial_line(path: Path) -> None:
    """Cut a line-oriented log (jobstate.log) after its last newline."""
    if not path.exists():
        return
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    with open(path, "r+b") as handle:
        handle.truncate(data.rfind(b"\n") + 1)


def max_cluster(path: Path) -> int:
    """Highest cluster id already used in an event log (cluster ids keep increasing across
    rescue and recovery runs, so provenance never sees one id twice)."""
    if not path.exists():
        return 0
    highest = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = _HEADER.match(line)
            if match:
                highest = max(highest, int(match.group(2)))
    return highest


def replay(path: Path, offset: int, has_post: dict[str, bool]) -> dict[str, NodeReplay]:
    """Node outcomes recorded in the event log from byte `offset` on."""
    nodes: dict[str, NodeReplay] = {}
    if not path.exists():
        return nodes
    cluster_node: dict[int, str] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        handle.seek(offset)
        text = handle.read()
    for block in text.split("\n...\n"):
        lines = block.strip("\n").split("\n")
        match = _HEADER.match(lines[0]) if lines else None
        if match is None:
            continue
        code, cluster = int(match.group(1)), int(match.group(2))
        node_name = _dag_node(lines)
        if code == 0 and node_name is not None:
            cluster_node[cluster] = node_name
            entry = nodes.setdefault(node_name, NodeReplay())
            entry.attempts += 1
            entry.state = "queued"
            entry.last_cluster = cluster
            continue
        name = node_name if code == 16 else cluster_node.get(cluster)
        if name is None:
            continue
        entry = nodes.setdefault(name, NodeReplay())
        if code in (5, 9):
            value = _value(lines) if code == 5 else -1002
            if has_post.get(name, False):
                entry.state = "post"
            else:
                _settle(entry, value)
        elif code == 16:
            _settle(entry, _value(lines))
    return nodes


def _settle(entry: NodeReplay, value: int) -> None:
    if value == 0:
        entry.state = "done"
    else:
        entry.state = "failed"
        entry.failures += 1


def _dag_node(lines: list[str]) -> str | None:
    for line in lines[1:]:
        text = line.strip()
        if text.startswith("DAG Node: "):
            return text[len("DAG Node: ") :]
    return None


def _value(lines: list[str]) -> int:
    body = "\n".join(lines)
    match = _RETURN.search(body)
    if match:
        return int(match.group(1))
    match = _SIGNAL.search(body)
    return -int(match.group(1)) if match else -1


def kill_orphans(procs_file: Path, same_boot: bool, grace_seconds: float = 5.0) -> int:
    """Stop processes a dead engine left behind; returns how many were still alive."""
    if not procs_file.exists() or not same_boot:
        return 0
    alive = []
    with open(procs_file) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) != 2 or not parts[0].isdigit():
                continue
            pid = int(parts[0])
            if parts[1] != "None" and str(proc.process_start_time(pid)) == parts[1]:
                alive.append(pid)
    for pid in alive:
        proc.kill_group(pid, signal.SIGTERM)
    deadline = time.time() + grace_seconds
    while time.time() < deadline and any(_running(pid) for pid in alive):
        time.sleep(0.05)
    for pid in alive:
        if _running(pid):
            proc.kill_group(pid, signal.SIGKILL)
    return len(alive)


def _running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    state = data[data.rfind(b")") + 2 : data.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def is_alive(pid: int, start_time: int | None) -> bool:
    """The process `pid` started at `start_time` still runs (and is not a zombie)."""
    if pid <= 0 or not _running(pid):
        return False
    return start_time is None or proc.process_start_time(pid) == start_time


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
