"""The executable workflow: what ``planner.plan`` produces and ``planner.write`` puts on disk.

A plain in-memory model of a DAGMan workflow (nodes with their submit descriptions, scripts,
retries, priorities, categories, and the edges between them) plus the side files of a submit
directory (job-wrapper inputs, braindump, cache, metrics). No I/O happens here, so tests can
inspect a plan without touching disk and the writer stays a dumb serializer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class JobType(StrEnum):
    """Node kinds, named as stampede's ``type_desc`` so that the monitor can store them as is."""

    COMPUTE = "compute"
    STAGE_IN = "stage-in-tx"
    STAGE_OUT = "stage-out-tx"
    REGISTRATION = "registration"
    INTER_SITE = "inter-site-tx"
    CREATE_DIR = "create-dir"
    CLEANUP = "cleanup"
    DAX = "dax"
    DAG = "dag"

    @property
    def job_class(self) -> int:
        """Pegasus's integer ``+pegasus_job_class``."""
        return _JOB_CLASS[self]

    @property
    def is_auxiliary(self) -> bool:
        """Runs ``aerie-lite transfer|register`` in the local universe."""
        return self not in (JobType.COMPUTE, JobType.DAX, JobType.DAG)


_JOB_CLASS = {
    JobType.COMPUTE: 1,
    JobType.STAGE_IN: 2,
    JobType.STAGE_OUT: 3,
    JobType.REGISTRATION: 4,
    JobType.INTER_SITE: 5,
    JobType.CREATE_DIR: 6,
    JobType.CLEANUP: 8,
    JobType.DAX: 10,
    JobType.DAG: 11,
}


@dataclass(slots=True)
class Script:
    """A DAGMan PRE or POST script: executable and its arguments (``$RETURN`` etc. allowed)."""

    executable: str
    arguments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SubDag:
    """A node that runs another DAG (``SUBDAG EXTERNAL``).

    ``dag_file`` is relative to ``dir``; ``dir`` is relative to the parent submit directory.
    ``workflow`` is the statically planned inner workflow (written under ``dir``), or None for a
    ``condorWorkflow`` job whose DAG file the user supplies.
    """

    dag_file: str
    dir: str
    workflow: ExecutableWorkflow | None = None


@dataclass(slots=True, eq=False)
class Node:
    """One DAGMan node.

    ``payload`` is what the job wrapper reads: the ``<name>.lite.json`` object for compute jobs,
    the ``<name>.in`` transfer list for transfer, create-dir and cleanup jobs, the File-RC lines
    for registration jobs. ``submit`` is the ordered HTCondor submit description.
    """

    name: str
    type: JobType
    site: str = "local"
    dir: str = "00/00"
    job_id: str | None = None
    transformation: str = ""
    level: int = 0
    retry: int = 1
    priority: int = 0
    category: str | None = None
    pre: Script | None = None
    post: Script | None = None
    vars: dict[str, str] = field(default_factory=dict)
    abort_dag_on: tuple[int, int | None] | None = None
    submit: dict[str, str] = field(default_factory=dict)
    payload: Any = None
    subdag: SubDag | None = None
    cluster_size: int = 1
    runtime: float = 0.0

    @property
    def sub_path(self) -> str:
        """Submit file path relative to the submit directory."""
        return f"{self.dir}/{self.name}.sub"

    @property
    def payload_path(self) -> str | None:
        """The job wrapper's input file relative to the submit directory, if this node has one."""
        if self.payload is None:
            return None
        suffix = ".lite.json" if self.type is JobType.COMPUTE else ".in"
        return f"{self.dir}/{self.name}{suffix}"


@dataclass(slots=True)
class ExecutableWorkflow:
    """A planned workflow: nodes in emission order, edges, and the submit directory's side files."""

    label: str
    index: int
    wf_uuid: str
    root_uuid: str
    submit_dir: Path
    data_configuration: str = "condorio"
    nodes: dict[str, Node] = field(default_factory=dict)
    children: dict[str, dict[str, None]] = field(default_factory=dict)
    maxjobs: dict[str, int] = field(default_factory=dict)
    braindump: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    cache: list[str] = field(default_factory=list)
    catalog_files: dict[str, str] = field(default_factory=dict)
    """File name under ``catalogs/`` → path of the source file to copy there."""
    wrapper: str = ""
    """Absolute path of ``aerie-lite`` (a sub-workflow uses its parent's)."""
    node_status_interval: int = 5
    job_attrs: dict[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """``<label>-<index>``, the stem of the .dag and the other workflow-level files."""
        return f"{self.label}-{self.index}"

    @property
    def dag_file(self) -> str:
        return f"{self.prefix}.dag"

    def add(self, node: Node) -> Node:
        if node.name in self.nodes:
            raise ValueError(f"duplicate DAG node name {node.name!r}")
        self.nodes[node.name] = node
        return node

    def add_edge(self, parent: str, child: str) -> None:
        if parent == child:
            return
        self.children.setdefault(parent, {})[child] = None

    def remove(self, name: str) -> None:
        """Drop a node and every edge that touches it."""
        del self.nodes[name]
        self.children.pop(name, None)
        for kids in self.children.values():
            kids.pop(name, None)

    def edges(self) -> Iterator[tuple[str, str]]:
        for parent, kids in self.children.items():
            for child in kids:
                yield parent, child

    def parents(self) -> dict[str, list[str]]:
        """Child → parents, computed on demand (the model stores parent → children)."""
        out: dict[str, list[str]] = {name: [] for name in self.nodes}
        for parent, child in self.edges():
            out[child].append(parent)
        return out

    def counts(self) -> dict[str, int]:
        """Nodes per job type (stampede ``type_desc``), for summaries and metrics."""
        out: dict[str, int] = {}
        for node in self.nodes.values():
            out[node.type.value] = out.get(node.type.value, 0) + 1
        return out
