"""API shapes for workflow runs: the run JSON is the same in the API, pages and CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WorkflowSubmitJSON(BaseModel):
    """`POST /workflows` as JSON: the documents as text (same keys as the multipart fields)."""

    model_config = ConfigDict(extra="forbid")

    workflow: str = Field(description="The Pegasus 5.0 workflow YAML.")
    replicas: str | None = Field(default=None, description="Replica catalog YAML.")
    transformations: str | None = Field(default=None, description="Transformation catalog YAML.")
    sites: str | list[str] | None = Field(
        default=None,
        description="Site catalog YAML; or, as a list, the sites to run on (= execution_sites).",
    )
    properties: str | None = Field(default=None, description="pegasus.properties text.")
    name: str | None = Field(default=None, max_length=255)
    engine: str | None = Field(default=None, description="'local' or 'htcondor'.")
    execution_sites: list[str] | None = Field(
        default=None, description="Sites to run jobs on (pegasus-plan --sites)."
    )
    labels: dict[str, str | bool | int | float] = Field(
        default_factory=dict,
        description="Text labels; a number or true/false is stored as its JSON text ('true').",
    )


class StatusCounts(BaseModel):
    """pegasus-status node counts of the root workflow (zeros before the monitor's first pass)."""

    total: int = 0
    unready: int = 0
    ready: int = 0
    pre: int = 0
    queued: int = 0
    post: int = 0
    succeeded: int = 0
    failed: int = 0
    held: int = 0
    percent_done: float = 0.0


class RunPublic(BaseModel):
    id: str
    name: str
    state: str
    owner: str
    engine: str
    labels: dict[str, str]
    error: str | None
    created: datetime
    started: datetime | None
    ended: datetime | None
    counts: StatusCounts
    links: dict[str, str]


class RunList(BaseModel):
    data: list[RunPublic]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; null on the last."
    )


class JobPublic(BaseModel):
    name: str
    type: str
    state: str
    transformation: str | None
    retries: int
    exitcode: int | None
    site: str | None
    links: dict[str, str]


class JobList(BaseModel):
    data: list[JobPublic]
    next_cursor: str | None = None


class InvocationPublic(BaseModel):
    task_submit_seq: int
    transformation: str | None
    executable: str | None
    argv: str | None
    exitcode: int | None
    start_time: float | None
    duration: float | None
    cpu_time: float | None
    maxrss_kb: int | None
    failed_step: str | None


class JobInstancePublic(BaseModel):
    submit_seq: int
    sched_id: str | None
    site: str | None
    hostname: str | None
    exitcode: int | None
    duration: float | None
    states: list[dict[str, Any]]
    stdout: str | None
    stderr: str | None
    invocations: list[InvocationPublic]


class JobDetail(JobPublic):
    argv: str | None
    executable: str | None
    instances: list[JobInstancePublic]


class Graph(BaseModel):
    nodes: list[dict[str, Any]]
    edges: list[dict[str, str]]


class FilePublic(BaseModel):
    lfn: str
    size: int | None
    sha256: str | None
    download: str


class FileList(BaseModel):
    data: list[FilePublic]


class RunEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    state: str
    detail: str | None
