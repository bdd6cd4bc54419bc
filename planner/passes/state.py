"""The mutable planning state that the passes share.

The spec models are frozen (they are the user's input); planning needs somewhere to record the
site a job goes to, the cluster it joins, the node that runs it and the files it moves. ``Task``
wraps one abstract job with those fields, and ``PlanState`` holds the tasks, the catalogs as
lookups and the executable workflow being built.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from planner.dag import ExecutableWorkflow, Node
from planner.naming import HashedDirs
from planner.spec import (
    AnyJob,
    Container,
    Job,
    Site,
    Transformation,
    TransformationSite,
    Use,
)

if TYPE_CHECKING:
    from planner.compile import PlanOptions
    from planner.passes.catalog import Catalogs


@dataclass(slots=True, eq=False)
class Task:
    """One abstract job (or, after clustering, a group of them) on its way to a DAG node."""

    job: AnyJob
    id: str
    parents: dict[Task, None] = field(default_factory=dict)
    children: dict[Task, None] = field(default_factory=dict)
    level: int = 0
    site: str = ""
    staging_site: str = ""
    data_config: str = "condorio"
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    transformation: Transformation | None = None
    tx_site: TransformationSite | None = None
    container: Container | None = None
    members: list[Task] | None = None
    node: Node | None = None
    inputs: list[Use] = field(default_factory=list)
    outputs: list[Use] = field(default_factory=list)
    # LFN → list of (url, site) the job pulls directly (bypass) or from its staging site
    pull_urls: dict[str, list[str]] = field(default_factory=dict)
    # LFN → list of URLs the job pushes outputs to (nonsharedfs)
    push_urls: dict[str, list[str]] = field(default_factory=dict)
    # stageable executable: (lfn, source url)
    executable_lfn: str | None = None

    @property
    def is_compute(self) -> bool:
        return isinstance(self.job, Job)

    @property
    def tx_name(self) -> str:
        job = self.job
        return job.name if isinstance(job, Job) else job.type


@dataclass(slots=True)
class StagingArea:
    """Where a site keeps the workflow's files: a local path (if visible from the submit host)
    and the URLs to read (get) and write (put) them."""

    site: str
    path: str
    get_url: str
    put_url: str

    def get(self, lfn: str) -> str:
        return f"{self.get_url}/{lfn}"

    def put(self, lfn: str) -> str:
        return f"{self.put_url}/{lfn}"


@dataclass(slots=True)
class PlanState:
    options: PlanOptions
    catalogs: Catalogs
    properties: dict[str, str]
    wf: ExecutableWorkflow
    tasks: dict[str, Task] = field(default_factory=dict)
    deleted: list[Task] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    scratch: dict[str, StagingArea] = field(default_factory=dict)
    storage: dict[str, StagingArea] = field(default_factory=dict)
    dirs: HashedDirs = field(default_factory=HashedDirs)

    def prop(self, key: str, default: str = "") -> str:
        return self.properties.get(key, default)

    def site(self, name: str) -> Site:
        return self.catalogs.site(name)
