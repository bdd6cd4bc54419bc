"""Typed models of the Pegasus 5.0 YAML formats: the workflow and its three catalogs.

The document format is the contract between users (or `Pegasus.api`) and the planner, so these
models follow the JSON schemas in `shared/pegasus/schemas/` closely (SPEC.md §1) and reject what the
schemas reject: unknown keys fail (`extra="forbid"`, the schemas' `additionalProperties: false`),
except vendor keys starting with `x-` wherever the schema allows them. They are frozen, slotted
Pydantic v2 dataclasses: pydantic-core validates a whole document in one pass and reports *every*
problem with its location (which the loader turns into `file:line: path: message` lines), and
dataclasses build ~2.5x faster and smaller than `BaseModel`s, which matters at a million `Use`s.

Field names are snake_case in Python and the YAML spelling is the alias (`stage_out` ↔ `stageOut`).
Documents are validated by alias only (`planner.loader`), so YAML must use the schema's spelling;
Python code may build models by field name (`Use(lfn="f", type="input", stage_out=False)`). All
models are frozen, and `metadata` mappings are read-only: the spec is the user's input, and
planning passes derive new structures from it rather than editing it. Equal file names and
arguments are one interned string object.

Model map (YAML key → class):

- `Workflow`: `pegasus`, `name`, `version`, `jobs` (`Job` | `PegasusWorkflowJob` |
  `CondorWorkflowJob`, chosen by `type`), `jobDependencies` (`Dependency`), `siteCatalog`
  (`SiteCatalog` inline or `SiteCatalogRef` `{$ref: iri}`), `replicaCatalog` (`ReplicaCatalog`),
  `transformationCatalog` (`TransformationCatalog`), `profiles` (`Profiles`), `hooks` (`Hooks`),
  `metadata`. Top-level `x-` keys are kept in `Workflow.extensions` (`x-pegasus.apiLang` is what
  Pegasus records as workflow metadata `wf.api`).
- `AbstractJob` (the common part): `id`, `nodeLabel`, `arguments`, `uses` (`Use`), `stdin`,
  `stdout`, `stderr`, `profiles`, `hooks`, `metadata`.
- `Use`: `lfn`, `type` (none|input|output|inout|checkpoint), `stageOut` (default true),
  `registerReplica` (default true), `optional`, `bypass`, `forPlanning`, `executable` (default
  false), `size`, `namespace`, `version`, `metadata`.
- `ReplicaCatalog` → `Replica` (`lfn`, `pfns` → `Pfn(site, pfn)`, `regex`, `checksum` →
  `Checksum(sha256)`, `metadata`).
- `TransformationCatalog` → `Transformation` (`namespace`, `name`, `version`, `requires`,
  `checksum`, `sites` → `TransformationSite`, `profiles`, `hooks`, `metadata`) and `Container`.
- `SiteCatalog` → `Site` (`name`, `arch`, `os.*`, `directories` → `Directory` → `FileServer`,
  `grids` → `Grid`, `profiles`).

Normalisations (documented deviations, all lossless for documents written by `Pegasus.api`):

- Numbers are accepted where the schema wants a version string (`pegasus: 5.0` → `"5.0"`), and
  argument, profile and metadata values that are numbers become strings (`1` → `"1"`): the planner
  joins arguments and writes profiles as text anyway, exactly as Pegasus does.
- `dagman` profile keys are upper-cased (`retry` → `RETRY`), because DAGMan keywords are
  case-insensitive and Pegasus's Dagman namespace does the same.
- Top-level `profiles` and `version` are accepted (the schema allows them; Pegasus's Java parser
  rejects them). Top-level `profiles` apply to every job with the lowest precedence of job-level
  profiles (see `planner.properties`).
- On a `pegasusWorkflow` job, the use whose `lfn` equals `file` is marked `forPlanning`, as
  Pegasus does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from sys import intern
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)
from pydantic.dataclasses import dataclass

__all__ = [
    "AbstractJob",
    "AnyJob",
    "Arch",
    "Checksum",
    "CondorWorkflowJob",
    "Container",
    "ContainerType",
    "Dependency",
    "Directory",
    "DirectoryType",
    "EventType",
    "FileServer",
    "Grid",
    "Hooks",
    "Job",
    "LinkType",
    "OsType",
    "PegasusWorkflowJob",
    "Pfn",
    "Profiles",
    "Replica",
    "ReplicaCatalog",
    "ShellHook",
    "Site",
    "SiteCatalog",
    "SiteCatalogRef",
    "Transformation",
    "TransformationCatalog",
    "TransformationSite",
    "Use",
    "Workflow",
    "JOB_TYPES",
    "LINK_TYPES",
    "PROFILE_NAMESPACES",
]

# --------------------------------------------------------------------------- scalar types


def _number_to_str(value: Any) -> Any:
    """YAML has no way to say "this number is text"; the schemas accept string|number here."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _numbers_to_str_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _number_to_str(v) for k, v in value.items()}
    return value


VersionString = Annotated[
    str,
    BeforeValidator(_number_to_str),
    StringConstraints(pattern=r"^[0-9]+(\.[0-9]+(\.[0-9]+)?)?$"),
]
"""`common.yml#/$defs/versionString`, e.g. `5.0.4`."""

NodeId = Annotated[str, StringConstraints(pattern=r"^[\-0-9a-zA-Z_]+$")]
"""`common.yml#/$defs/nodeIdString`: letters, digits, `-` and `_`."""

WorkflowName = Annotated[str, StringConstraints(min_length=1, pattern=r"^[^/\s]+$")]
"""`filenameSafeString`: used in file names, so no `/` and (like `Pegasus.api`) no whitespace."""

TextValue = Annotated[str, BeforeValidator(_number_to_str)]
StrMap = Annotated[dict[str, str], BeforeValidator(_numbers_to_str_values)]
Metadata = Annotated[
    Mapping[str, str], BeforeValidator(lambda v: _numbers_to_str_values(_split_vendor_keys(v)))
]
"""`common.yml#/$defs/metadata`: key → string (numbers are turned into strings). Read-only."""

_NO_METADATA: Mapping[str, str] = MappingProxyType({})


def _no_metadata() -> Mapping[str, str]:
    """One shared empty mapping: a 100k-job workflow has a million uses without metadata."""
    return _NO_METADATA


LinkType = Literal["none", "input", "output", "inout", "checkpoint"]
EventType = Literal["never", "start", "error", "success", "end", "all"]
Arch = Literal[
    "x86", "x86_64", "ppc", "ppc_64", "ppc64le", "ia64", "sparcv7", "sparcv9", "amd64", "aarch64"
]
OsType = Literal["linux", "sunos", "macosx", "aix", "windows"]
DirectoryType = Literal["sharedScratch", "sharedStorage", "localScratch", "localStorage"]
ContainerType = Literal["docker", "singularity", "shifter"]

JOB_TYPES = ("job", "pegasusWorkflow", "condorWorkflow")
LINK_TYPES = ("none", "input", "output", "inout", "checkpoint")
PROFILE_NAMESPACES = ("env", "condor", "globus", "dagman", "pegasus", "hints", "selector")


def _split_vendor_keys(data: Any) -> Any:
    """Drop `x-` keys (vendor extensions the schemas allow and Pegasus ignores)."""
    if isinstance(data, dict):
        for key in data:
            if isinstance(key, str) and key.startswith("x-"):
                return {k: v for k, v in data.items() if not (isinstance(k, str) and k[:2] == "x-")}
    return data


_CONFIG = ConfigDict(
    extra="forbid",
    validate_by_alias=True,
    validate_by_name=True,
    hide_input_in_errors=False,
)
"""Strict document models: unknown keys are errors, aliases are the YAML spelling."""


# --------------------------------------------------------------------------- common


_GENERIC_KEY = r"^[+.a-zA-Z0-9_-]+$"
_ENV_KEY = r"^[_.\-a-zA-Z0-9]+$"
ProfileKey = Annotated[str, StringConstraints(pattern=_GENERIC_KEY)]
EnvKey = Annotated[str, StringConstraints(pattern=_ENV_KEY)]
ProfileValues = Annotated[
    dict[ProfileKey, str], BeforeValidator(lambda v: _numbers_to_str_values(_split_vendor_keys(v)))
]


def _upper_keys(value: Any) -> Any:
    value = _numbers_to_str_values(_split_vendor_keys(value))
    if isinstance(value, dict):
        return {(k.upper() if isinstance(k, str) else k): v for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Profiles:
    """Profiles by namespace (`common.yml#/$defs/profiles`); each maps key → string.

    `hints` is Pegasus's deprecated alias of `selector` (`executionPool` → `execution.site`,
    `pfnHint` → `pfn`); `selector_value` reads both.
    """

    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    env: Annotated[
        dict[EnvKey, str], BeforeValidator(lambda v: _numbers_to_str_values(_split_vendor_keys(v)))
    ] = Field(default_factory=dict)
    condor: ProfileValues = Field(default_factory=dict)
    globus: ProfileValues = Field(default_factory=dict)
    dagman: Annotated[dict[ProfileKey, str], BeforeValidator(_upper_keys)] = Field(
        default_factory=dict
    )
    pegasus: ProfileValues = Field(default_factory=dict)
    hints: ProfileValues = Field(default_factory=dict)
    selector: ProfileValues = Field(default_factory=dict)

    _HINT_ALIASES: ClassVar[dict[str, str]] = {
        "execution.site": "executionPool",
        "pfn": "pfnHint",
        "grid.jobtype": "grid.jobtype",
    }

    def namespace(self, name: str) -> dict[str, str]:
        """The key → value map of one namespace (`env`, `condor`, …)."""
        if name not in PROFILE_NAMESPACES:
            raise KeyError(f"unknown profile namespace {name!r}")
        values: dict[str, str] = getattr(self, name)
        return values

    def selector_value(self, key: str) -> str | None:
        """A selector key (`execution.site`, `pfn`), falling back to its `hints` alias."""
        if key in self.selector:
            return self.selector[key]
        alias = self._HINT_ALIASES.get(key)
        if alias is not None and alias in self.hints:
            return self.hints[alias]
        return self.hints.get(key)

    def is_empty(self) -> bool:
        return not (
            self.env
            or self.condor
            or self.globus
            or self.dagman
            or self.pegasus
            or self.hints
            or self.selector
        )

    def items(self) -> list[tuple[str, str, str]]:
        """Every profile as `(namespace, key, value)`, namespaces in schema order."""
        out: list[tuple[str, str, str]] = []
        for ns in PROFILE_NAMESPACES:
            for key, value in getattr(self, ns).items():
                out.append((ns, key, value))
        return out


EMPTY_PROFILES = Profiles()


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class ShellHook:
    """A shell command run on a workflow/job event (`_on`)."""

    on: EventType = Field(validation_alias="_on")
    cmd: str


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Hooks:
    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    shell: tuple[ShellHook, ...] = ()


EMPTY_HOOKS = Hooks()


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Checksum:
    """Only sha256 is defined by the 5.0 schemas."""

    sha256: str | None = None


# --------------------------------------------------------------------------- workflow


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Use:
    """One file a job uses (`wf-5.0.yml#/$defs/use`); no `x-` keys here, as in the schema.

    Defaults follow Pegasus's `PegasusFile`: outputs are staged out and registered unless
    told otherwise. `checkpoint` files are read (if present) and written by the same job.
    """

    lfn: Annotated[str, StringConstraints(min_length=1)]
    type: LinkType
    stage_out: bool = Field(default=True, validation_alias="stageOut")
    register_replica: bool = Field(default=True, validation_alias="registerReplica")
    optional: bool = False
    bypass: bool = False
    for_planning: bool = Field(default=False, validation_alias="forPlanning")
    executable: bool = False
    size: TextValue | None = None
    namespace: str | None = None
    version: VersionString | None = None
    metadata: Metadata = Field(default_factory=_no_metadata)

    @property
    def is_input(self) -> bool:
        """Read by the job (must exist before it runs, unless optional or a checkpoint)."""
        return self.type in ("input", "inout")

    @property
    def is_output(self) -> bool:
        """Written by the job."""
        return self.type in ("output", "inout", "checkpoint")


def _prepare_job(data: Any) -> Any:
    """Drop `x-` keys, turn numeric arguments into text, and share equal strings.

    A file name appears in a job's `uses`, in its arguments and in the jobs that produce or read
    it; interning makes all those one string object, which saves ~150 MB on a 100k-job workflow.
    """
    data = _split_vendor_keys(data)
    if not isinstance(data, dict):
        return data
    args = data.get("arguments")
    if isinstance(args, list):
        data["arguments"] = [intern(a) if type(a) is str else _number_to_str(a) for a in args]
    uses = data.get("uses")
    if isinstance(uses, list):
        for u in uses:
            if isinstance(u, dict):
                lfn = u.get("lfn")
                if type(lfn) is str:
                    u["lfn"] = intern(lfn)
    for key in ("name", "id"):
        value = data.get(key)
        if type(value) is str:
            data[key] = intern(value)
    return data


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class AbstractJob:
    """What all three job kinds share (`wf-5.0.yml#/$defs/abstractJob`).

    `id`, `arguments` and `uses` are required by the schema even when empty.
    """

    id: NodeId
    node_label: str | None = Field(default=None, validation_alias="nodeLabel")
    arguments: tuple[str, ...]
    uses: tuple[Use, ...]
    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    profiles: Profiles = Field(default_factory=lambda: EMPTY_PROFILES)
    hooks: Hooks = Field(default_factory=lambda: EMPTY_HOOKS)
    metadata: Metadata = Field(default_factory=_no_metadata)

    @model_validator(mode="before")
    @classmethod
    def _prepare(cls, data: Any) -> Any:
        return _prepare_job(data)

    @property
    def inputs(self) -> list[Use]:
        return [u for u in self.uses if u.is_input]

    @property
    def outputs(self) -> list[Use]:
        return [u for u in self.uses if u.is_output]


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Job(AbstractJob):
    """A compute job: runs transformation `namespace::name:version` (`type: job`)."""

    type: Literal["job"] = "job"
    name: str
    namespace: str | None = None
    version: VersionString | None = None

    @property
    def transformation_key(self) -> str:
        """Pegasus's fully qualified name `ns::name:version` (parts omitted when absent)."""
        return transformation_key(self.namespace, self.name, self.version)


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class PegasusWorkflowJob(AbstractJob):
    """A sub-workflow given as an abstract-workflow YAML file (LFN `file`)."""

    type: Literal["pegasusWorkflow"] = "pegasusWorkflow"
    file: str

    @model_validator(mode="after")
    def _mark_for_planning(self) -> PegasusWorkflowJob:
        if any(u.lfn == self.file and not u.for_planning for u in self.uses):
            uses = tuple(
                dataclasses.replace(u, for_planning=True) if u.lfn == self.file else u
                for u in self.uses
            )
            object.__setattr__(self, "uses", uses)
        return self


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class CondorWorkflowJob(AbstractJob):
    """A sub-DAG given as an HTCondor `.dag` file (LFN `file`)."""

    type: Literal["condorWorkflow"] = "condorWorkflow"
    file: str


AnyJob = Annotated[Job | PegasusWorkflowJob | CondorWorkflowJob, Field(discriminator="type")]


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Dependency:
    """Explicit edges: `id` is the parent of every job in `children`."""

    id: NodeId
    children: Annotated[tuple[NodeId, ...], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _share_ids(cls, data: Any) -> Any:
        """Job ids repeat across a million edges: make each one string object."""
        if isinstance(data, dict):
            children = data.get("children")
            if isinstance(children, list):
                data["children"] = [intern(c) if type(c) is str else c for c in children]
        return data


def transformation_key(namespace: str | None, name: str, version: str | None) -> str:
    """`ns::name:version` with the optional parts left out, as Pegasus prints it."""
    key = name
    if namespace:
        key = f"{namespace}::{key}"
    if version:
        key = f"{key}:{version}"
    return key


# --------------------------------------------------------------------------- replica catalog


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Pfn:
    site: str
    pfn: str


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Replica:
    """An RC entry. With `regex: true` the `lfn` is a regular expression and PFNs may use
    `[0]` (whole match) and `[1]`… (groups); see `planner.catalogs`."""

    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    lfn: Annotated[str, StringConstraints(min_length=1)]
    pfns: tuple[Pfn, ...]
    regex: bool = False
    checksum: Checksum | None = None
    metadata: Metadata = Field(default_factory=_no_metadata)


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class ReplicaCatalog:
    """`rc-5.0.yml`; inline in a workflow the `pegasus` key may be left out."""

    source_file: str | None = dataclasses.field(default=None, init=False, compare=False, repr=False)
    """The file this document was loaded from (set by `planner.loader`; None if built in code)."""
    source_prefix: str = dataclasses.field(default="", init=False, compare=False, repr=False)
    """Path of this document inside its file (`transformationCatalog` for an inline catalog)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    pegasus: VersionString | None = None
    replicas: tuple[Replica, ...]


# --------------------------------------------------------------------------- transformation catalog


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class TransformationSite:
    """Where (and how) a transformation exists on one site."""

    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    name: str
    pfn: str
    type: Literal["stageable", "installed"]
    arch: Arch | None = None
    os_type: OsType | None = Field(default=None, validation_alias="os.type")
    os_release: str | None = Field(default=None, validation_alias="os.release")
    os_version: VersionString | None = Field(default=None, validation_alias="os.version")
    container: str | None = None
    bypass: bool = False
    profiles: Profiles = Field(default_factory=lambda: EMPTY_PROFILES)
    metadata: Metadata = Field(default_factory=_no_metadata)


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Transformation:
    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    namespace: str | None = None
    name: str
    version: TextValue | None = None
    requires: tuple[str, ...] = ()
    checksum: Checksum | None = None
    sites: Annotated[tuple[TransformationSite, ...], Field(min_length=1)]
    profiles: Profiles = Field(default_factory=lambda: EMPTY_PROFILES)
    hooks: Hooks = Field(default_factory=lambda: EMPTY_HOOKS)
    metadata: Metadata = Field(default_factory=_no_metadata)

    @property
    def key(self) -> str:
        return transformation_key(self.namespace, self.name, self.version)


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Container:
    """A container image that transformations run in (`TransformationSite.container`)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    name: str
    type: ContainerType
    image: str
    image_site: str | None = Field(default=None, validation_alias="image.site")
    mounts: tuple[str, ...] = ()
    bypass: bool = False
    checksum: Checksum | None = None
    metadata: Metadata = Field(default_factory=_no_metadata)
    profiles: Profiles = Field(default_factory=lambda: EMPTY_PROFILES)


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class TransformationCatalog:
    """`tc-5.0.yml`; inline in a workflow the `pegasus` key may be left out."""

    source_file: str | None = dataclasses.field(default=None, init=False, compare=False, repr=False)
    """The file this document was loaded from (set by `planner.loader`; None if built in code)."""
    source_prefix: str = dataclasses.field(default="", init=False, compare=False, repr=False)
    """Path of this document inside its file (`transformationCatalog` for an inline catalog)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    pegasus: VersionString | None = None
    transformations: Annotated[tuple[Transformation, ...], Field(min_length=1)]
    containers: tuple[Container, ...] = ()


# --------------------------------------------------------------------------- site catalog


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class FileServer:
    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    url: str
    operation: Literal["all", "put", "get"] = "all"
    profiles: Profiles = Field(default_factory=lambda: EMPTY_PROFILES)


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Directory:
    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    type: DirectoryType
    path: str | None = None
    shared_file_system: bool = Field(default=False, validation_alias="sharedFileSystem")
    free_size: TextValue | None = Field(default=None, validation_alias="freeSize")
    total_size: TextValue | None = Field(default=None, validation_alias="totalSize")
    file_servers: Annotated[
        tuple[FileServer, ...], Field(min_length=1, validation_alias="fileServers")
    ]


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Grid:
    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    type: Literal[
        "gt5", "condor", "cream", "batch", "nordugrid", "unicore", "ec2", "deltacloud", "sfapi"
    ]
    contact: str
    scheduler: Literal["fork", "pbs", "lsf", "condor", "sge", "slurm", "flux", "unknown"]
    jobtype: Literal["compute", "auxillary", "transfer", "register", "cleanup"] | None = None
    free_mem: TextValue | None = Field(default=None, validation_alias="freeMem")
    total_mem: TextValue | None = Field(default=None, validation_alias="totalMem")
    max_count: TextValue | None = Field(default=None, validation_alias="maxCount")
    max_cpu_time: TextValue | None = Field(default=None, validation_alias="maxCPUTime")
    running_jobs: Annotated[float, Field(ge=0)] | None = Field(
        default=None, validation_alias="runningJobs"
    )
    jobs_in_queue: Annotated[float, Field(ge=0)] | None = Field(
        default=None, validation_alias="jobsInQueue"
    )
    idle_nodes: Annotated[float, Field(ge=0)] | None = Field(
        default=None, validation_alias="idleNodes"
    )
    total_nodes: Annotated[float, Field(ge=0)] | None = Field(
        default=None, validation_alias="totalNodes"
    )


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Site:
    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    name: str
    arch: Arch = "x86_64"
    os_type: OsType = Field(default="linux", validation_alias="os.type")
    os_release: str | None = Field(default=None, validation_alias="os.release")
    os_version: VersionString | None = Field(default=None, validation_alias="os.version")
    directories: tuple[Directory, ...] = ()
    grids: tuple[Grid, ...] = ()
    profiles: Profiles = Field(default_factory=lambda: EMPTY_PROFILES)

    def directory(self, type_: DirectoryType) -> Directory | None:
        """The first directory of the given type, or None."""
        for d in self.directories:
            if d.type == type_:
                return d
        return None


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class SiteCatalog:
    """`sc-5.0.yml`; inline in a workflow the `pegasus` key may be left out."""

    source_file: str | None = dataclasses.field(default=None, init=False, compare=False, repr=False)
    """The file this document was loaded from (set by `planner.loader`; None if built in code)."""
    source_prefix: str = dataclasses.field(default="", init=False, compare=False, repr=False)
    """Path of this document inside its file (`transformationCatalog` for an inline catalog)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_vendor_keys(cls, data: Any) -> Any:
        return _split_vendor_keys(data)

    pegasus: VersionString | None = None
    sites: Annotated[tuple[Site, ...], Field(min_length=1)]


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class SiteCatalogRef:
    """`siteCatalog: {$ref: <iri>}` in a workflow: the site catalog lives elsewhere."""

    ref: str = Field(validation_alias="$ref")


def _site_catalog_kind(value: Any) -> str | None:
    """`{$ref: …}` is a reference, any other mapping an inline catalog."""
    if isinstance(value, dict):
        return "ref" if "$ref" in value else "inline"
    if isinstance(value, SiteCatalogRef):
        return "ref"
    if isinstance(value, SiteCatalog):
        return "inline"
    return None


SiteCatalogChoice = Annotated[
    Annotated[SiteCatalogRef, Tag("ref")] | Annotated[SiteCatalog, Tag("inline")],
    Discriminator(_site_catalog_kind),
]


# --------------------------------------------------------------------------- workflow document


@dataclass(frozen=True, slots=True, kw_only=True, config=_CONFIG)
class Workflow:
    """An abstract workflow (`wf-5.0.yml`)."""

    pegasus: VersionString
    name: WorkflowName
    version: VersionString | None = None
    jobs: Annotated[tuple[AnyJob, ...], Field(min_length=1)]
    job_dependencies: tuple[Dependency, ...] = Field(default=(), validation_alias="jobDependencies")
    site_catalog: SiteCatalogChoice | None = Field(default=None, validation_alias="siteCatalog")
    replica_catalog: ReplicaCatalog | None = Field(default=None, validation_alias="replicaCatalog")
    transformation_catalog: TransformationCatalog | None = Field(
        default=None, validation_alias="transformationCatalog"
    )
    profiles: Profiles = Field(default_factory=lambda: EMPTY_PROFILES)
    hooks: Hooks = Field(default_factory=lambda: EMPTY_HOOKS)
    metadata: Metadata = Field(default_factory=_no_metadata)
    extensions: dict[str, Any] = Field(default_factory=dict, validation_alias="x-extensions")
    """Top-level `x-*` keys as written (e.g. `x-pegasus: {apiLang, createdBy, createdOn}`)."""

    source_file: str | None = dataclasses.field(default=None, init=False, compare=False, repr=False)
    """The file this document was loaded from (set by `planner.loader`; None if built in code)."""
    source_prefix: str = dataclasses.field(default="", init=False, compare=False, repr=False)
    """Path of this document inside its file (`transformationCatalog` for an inline catalog)."""

    @model_validator(mode="before")
    @classmethod
    def _collect_vendor_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(isinstance(k, str) and k.startswith("x-") for k in data):
            rest = {k: v for k, v in data.items() if not (isinstance(k, str) and k[:2] == "x-")}
            rest["x-extensions"] = {
                k: v for k, v in data.items() if isinstance(k, str) and k[:2] == "x-"
            }
            return rest
        return data

    @property
    def api_lang(self) -> str | None:
        """`x-pegasus.apiLang`, which Pegasus records as workflow metadata `wf.api`."""
        xp = self.extensions.get("x-pegasus")
        if isinstance(xp, dict):
            lang = xp.get("apiLang")
            return str(lang) if lang is not None else None
        return None
