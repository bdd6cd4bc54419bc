"""Run-time state of a DAG's nodes and processes, with DAGMan's codes.

Node status codes are DAGMan's (also those of the NODE_STATUS_FILE); DAG status codes are
those of the metrics file's `DagStatus` and the `$DAG_STATUS` macro; the RETURN_* values are
what DAGMan passes as `$RETURN` when no job exit code exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from worker.engines.local.dagfile import Node
from worker.engines.local.submit import InputTransfer, JobSpec

NOT_READY, READY, PRERUN, SUBMITTED, POSTRUN, DONE, ERROR, FUTILE = range(8)
COUNT_KEYS = {
    NOT_READY: "Unready",
    READY: "Ready",
    PRERUN: "Pre",
    SUBMITTED: "Queued",
    POSTRUN: "Post",
    DONE: "Done",
    ERROR: "Failed",
    FUTILE: "Futile",
}

# DAG status codes (metrics DagStatus, DAG_STATUS macro)
DAG_STATUS_OK, DAG_STATUS_ERROR, DAG_STATUS_NODE_FAILED, DAG_STATUS_ABORT, DAG_STATUS_RM = range(5)
DAG_STATUS_NAMES = [
    "DAG_STATUS_OK",
    "DAG_STATUS_ERROR",
    "DAG_STATUS_NODE_FAILED",
    "DAG_STATUS_ABORT",
    "DAG_STATUS_RM",
]

RETURN_SUBMIT_FAILED = -1001
RETURN_REMOVED = -1002
RETURN_PRE_FAILED = -1004


@dataclass
class NodeRun:
    """Run-time state of one node (the parsed `Node` stays immutable)."""

    node: Node
    status: int = NOT_READY
    waiting_parents: int = 0
    retry: int = 0
    pre_done: bool = False
    cluster: int | None = None
    job_return: int | None = None
    pre_return: int | None = None
    sequence: int = 0
    tag: str | None = None
    details: str = ""
    # The last parse of this attempt's submit file that found no free slot, with what it was
    # parsed under: the next turn reuses it instead of parsing the same text again.
    parsed: tuple[object, JobSpec] | None = None


@dataclass
class Running:
    """One live child process: a node's job, or its PRE/POST script."""

    kind: str  # job | pre | post
    name: str
    started: float
    cluster: int | None = None
    spec: JobSpec | None = None
    scratch: Path | None = None
    slot: str = ""
    bytes_in: int = 0
    category: str | None = None
    inputs: InputTransfer | None = None
    error_fd: int = -1
    via_starter: bool = False  # run by a starter (starter.py), keyed by the starter's pid


@dataclass
class RunResult:
    exit_code: int
    dag_status: int
    failed: list[str] = field(default_factory=list)
    rescue_file: Path | None = None
