"""Site policy: which files, executables and URLs a (non-admin) user's documents may name.

Jobs and transfers run on the gateway's hosts, so a catalog entry such as
`file:///var/lib/aerie/secret_key` or an installed transformation `/bin/sh` with a condor
profile `executable = …` is a request to read or run something on the server on the user's
behalf. `check_policy(inputs, policy)` walks everything the documents name — replica PFNs,
transformation PFNs, container images and mounts, site directories and file servers, condor
and dagman profiles (at every level, and in properties), sub-workflow files — and returns one
`Problem` per violation, with file, line and field, in the planner's usual format:

    replicas.yml:12: replicas[3].pfns[0].pfn: file:///etc/shadow is outside the directories
        you may read

The policy itself is plain data (`SitePolicy`) built by the gateway from its settings and the
user; this module knows nothing about users or settings. Paths are compared after resolving
symlinks and `..` (`os.path.realpath`), so a link inside an allowed directory that points out of
it is refused. Only the gateway-side checks can be this precise; the job isolation of the local
engine (a separate Unix account for jobs) is what stops a permitted program from reading more
than it should at run time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from planner.errors import Problem, ProblemsError
from planner.loader import locate
from planner.spec import (
    CondorWorkflowJob,
    PegasusWorkflowJob,
    Profiles,
    ReplicaCatalog,
    SiteCatalog,
    TransformationCatalog,
    Workflow,
)

__all__ = [
    "CONDOR_KEYS",
    "PolicyError",
    "SitePolicy",
    "check_policy",
]

CODE = "policy"

CONDOR_KEYS = frozenset(
    {
        "accounting_group",
        "accounting_group_user",
        "batch_name",
        "concurrency_limits",
        "job_max_vacate_time",
        "max_retries",
        "nice_user",
        "notification",
        "on_exit_hold",
        "on_exit_hold_reason",
        "on_exit_remove",
        "periodic_hold",
        "periodic_hold_reason",
        "periodic_release",
        "periodic_remove",
        "priority",
        "rank",
        "request_cpus",
        "request_disk",
        "request_gpus",
        "request_memory",
        "requirements",
    }
)
"""`condor` profile keys a confined user may set: resources, matching and policy expressions.
Everything else (`executable`, `initialdir`, `transfer_input_files`, `output`, `universe`,
`getenv`, …) decides what runs where and which files the engine opens, so it is refused; custom
ClassAd attributes (`+Name`, `MY.Name`) are allowed."""

_DAGMAN_FORBIDDEN = re.compile(r"^(PRE|POST)(\.|$)")
"""DAGMan PRE/POST scripts would run as the engine, outside the job sandbox."""

_CONTAINER_SCHEMES = frozenset({"docker", "library", "shub", "oras"})


@dataclass(frozen=True)
class SitePolicy:
    """What one user may name. All paths absolute; they are resolved once here.

    - `own_roots`: the user's own area (and the run's directory): read, write and, if
      `allow_own_executables`, run — even though they lie inside a protected directory;
    - `protected`: never, unless inside an own root (the data directory: secret, database,
      other users' areas) — this wins over every other root;
    - `read_roots`: inputs may be read from here; `write_roots`: outputs and scratch may go here;
    - `executable_roots`: installed executables may live here;
    - `url_schemes`: schemes allowed besides `file` (which is judged by its path).
    """

    read_roots: tuple[Path, ...] = ()
    write_roots: tuple[Path, ...] = ()
    executable_roots: tuple[Path, ...] = ()
    own_roots: tuple[Path, ...] = ()
    protected: tuple[Path, ...] = ()
    url_schemes: frozenset[str] = frozenset({"http", "https", "scp", "s3"})
    allow_own_executables: bool = True
    allow_condor_workflows: bool = False
    _resolved: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("read_roots", "write_roots", "executable_roots", "own_roots", "protected"):
            self._resolved[name] = tuple(_real(p) for p in getattr(self, name))

    def _under(self, path: str, kind: str) -> bool:
        return any(_inside(path, root) for root in self._resolved[kind])

    def _verdict(self, path: str, *kinds: str) -> bool:
        real = _real(path)
        if self._under(real, "own_roots"):
            return True
        if self._under(real, "protected"):
            return False
        return any(self._under(real, k) for k in kinds)

    def may_read(self, path: str | os.PathLike[str]) -> bool:
        return self._verdict(os.fspath(path), "read_roots", "write_roots")

    def may_write(self, path: str | os.PathLike[str]) -> bool:
        return self._verdict(os.fspath(path), "write_roots")

    def may_execute(self, path: str | os.PathLike[str]) -> bool:
        real = _real(os.fspath(path))
        if self._under(real, "own_roots"):
            return self.allow_own_executables
        if self._under(real, "protected"):
            return False
        return self._under(real, "executable_roots")


class PolicyError(ProblemsError):
    """The documents name files, programs or URLs the site policy does not allow."""


_DIRS: ContextVar[dict[str, str] | None] = ContextVar("policy_dirs", default=None)
"""Resolved directories during one `check_policy` call (never across calls: a directory may
become a symlink between two submissions)."""


def _real(path: str | os.PathLike[str]) -> str:
    text = os.path.expanduser(os.fspath(path))
    cache = _DIRS.get()
    parts = text.split("/")
    if cache is None or not text.startswith("/") or ".." in parts or "." in parts:
        return os.path.realpath(text)
    # 100k replicas in a few directories: resolve each directory once, then only ask whether
    # the last component is itself a link.
    head, _, name = text.rstrip("/").rpartition("/")
    real_head = cache.get(head)
    if real_head is None:
        real_head = cache[head] = os.path.realpath(head or "/")
    if not name or os.path.islink(text):
        return os.path.realpath(text)
    return os.path.join(real_head, name)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# --------------------------------------------------------------------------- the walk


@dataclass
class _Walk:
    policy: SitePolicy
    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str | None, path: str, message: str) -> None:
        self.problems.append(Problem(file, None, path, message, CODE))

    # -- URLs and paths

    def url(
        self, value: str, file: str | None, where: str, *, write: bool = False, regex: bool = False
    ) -> None:
        """A PFN or file-server URL: an allowed scheme, or a local path the user may use."""
        parsed = urlparse(value)
        scheme = parsed.scheme.lower() if "://" in value else ""
        if scheme and scheme != "file":
            if scheme not in self.policy.url_schemes:
                allowed = ", ".join(sorted({"file", *self.policy.url_schemes}))
                self.add(file, where, f"URL scheme {scheme!r} is not allowed (allowed: {allowed})")
            return
        local = parsed.path if scheme == "file" else value
        if scheme == "file" and parsed.netloc not in ("", "localhost"):
            self.add(file, where, f"{value} names another host; use file:///absolute/path")
            return
        if regex:
            # A regex PFN template: judge the fixed part before the first substitution.
            if ".." in Path(local).parts:
                self.add(file, where, f"{value} may not contain '..'")
                return
            local = local.split("[", 1)[0]
            local = local if local.endswith("/") else os.path.dirname(local) or "/"
        self.path(local, value, file, where, write=write)

    def path(
        self, local: str, shown: str, file: str | None, where: str, *, write: bool = False
    ) -> None:
        if not os.path.isabs(local):
            self.add(file, where, f"{shown} is not an absolute path")
            return
        if write:
            if not self.policy.may_write(local):
                self.add(file, where, f"{shown} is outside the directories you may write to")
        elif not self.policy.may_read(local):
            self.add(file, where, f"{shown} is outside the directories you may read")

    def lfn(self, lfn: str, file: str | None, where: str) -> None:
        """LFNs become file names under staging, scratch and output directories."""
        if lfn.startswith("/") or ".." in lfn.split("/"):
            self.add(
                file, where, f"file name {lfn!r} may not be absolute or contain '..' components"
            )

    # -- profiles

    def profiles(self, profiles: Profiles, file: str | None, where: str) -> None:
        for key in profiles.condor:
            self.condor_key(key, file, f"{where}.condor.{key}" if where else f"condor.{key}")
        for ns, key in (("selector", "pfn"), ("hints", "pfnHint"), ("hints", "pfn")):
            pinned = getattr(profiles, ns).get(key)
            if pinned is not None:  # pins the program a job runs, bypassing the catalog
                where_ = f"{where}.{ns}.{key}" if where else f"{ns}.{key}"
                self.executable(pinned, "installed", file, where_)
        for key in profiles.pegasus:
            if key.lower() == "container.arguments":
                self.add(
                    file,
                    f"{where}.pegasus.{key}" if where else f"pegasus.{key}",
                    "pegasus profile 'container.arguments' is not allowed (extra container "
                    "options can mount any host directory)",
                )
        for key in profiles.dagman:
            if _DAGMAN_FORBIDDEN.match(key):
                self.add(
                    file,
                    f"{where}.dagman.{key}" if where else f"dagman.{key}",
                    f"dagman profile {key!r} (PRE/POST scripts) is not allowed",
                )

    def condor_key(self, key: str, file: str | None, where: str) -> None:
        lowered = key.lower()
        if lowered in CONDOR_KEYS or key.startswith("+") or lowered.startswith("my."):
            return
        self.add(
            file,
            where,
            f"condor profile {key!r} is not allowed (it decides what runs or which files are "
            "opened); allowed: resource requests, requirements, rank, priority, periodic "
            "expressions and +custom attributes",
        )

    # -- documents

    def replicas(self, rc: ReplicaCatalog) -> None:
        file, prefix = rc.source_file, _prefix(rc.source_prefix)
        for i, rep in enumerate(rc.replicas):
            if not rep.regex:
                self.lfn(rep.lfn, file, f"{prefix}replicas[{i}].lfn")
            for j, pfn in enumerate(rep.pfns):
                self.url(pfn.pfn, file, f"{prefix}replicas[{i}].pfns[{j}].pfn", regex=rep.regex)

    def transformations(self, tc: TransformationCatalog) -> None:
        file, prefix = tc.source_file, _prefix(tc.source_prefix)
        for i, tr in enumerate(tc.transformations):
            base = f"{prefix}transformations[{i}]"
            self.profiles(tr.profiles, file, f"{base}.profiles")
            for j, site in enumerate(tr.sites):
                where = f"{base}.sites[{j}]"
                self.profiles(site.profiles, file, f"{where}.profiles")
                self.executable(site.pfn, site.type, file, f"{where}.pfn")
        for i, cont in enumerate(tc.containers):
            base = f"{prefix}containers[{i}]"
            self.profiles(cont.profiles, file, f"{base}.profiles")
            self.image(cont.image, file, f"{base}.image")
            for j, mount in enumerate(cont.mounts):
                self.mount(mount, file, f"{base}.mounts[{j}]")

    def executable(self, pfn: str, kind: str, file: str | None, where: str) -> None:
        parsed = urlparse(pfn)
        scheme = parsed.scheme.lower() if "://" in pfn else ""
        if kind == "stageable":
            if scheme and scheme != "file":
                self.url(pfn, file, where)
                return
            local = parsed.path if scheme == "file" else pfn
            if not os.path.isabs(local):
                self.add(file, where, f"{pfn} is not an absolute path")
            elif not (self.policy.may_execute(local) or _staged_ok(self.policy, local)):
                self.add(file, where, f"{pfn} is not in a directory you may run programs from")
            return
        local = parsed.path if scheme == "file" else pfn
        if scheme and scheme != "file":
            self.add(file, where, f"an installed executable must be a local path, not {pfn}")
        elif not os.path.isabs(local):
            self.add(file, where, f"{pfn} is not an absolute path")
        elif not self.policy.may_execute(local):
            roots = ", ".join(str(p) for p in self.policy.executable_roots) or "none"
            self.add(
                file,
                where,
                f"{pfn} is not in a directory you may run programs from (allowed: {roots})",
            )

    def image(self, image: str, file: str | None, where: str) -> None:
        if "://" not in image:
            if image.startswith("/"):
                self.path(image, image, file, where)
            return  # a registry name such as `centos:7`
        scheme = urlparse(image).scheme.lower()
        if scheme in _CONTAINER_SCHEMES:
            return
        self.url(image, file, where)

    def mount(self, mount: str, file: str | None, where: str) -> None:
        parts = mount.split(":")
        source = parts[0]
        read_only = len(parts) > 2 and "ro" in parts[2].split(",")
        if ".." in Path(source).parts:
            self.add(file, where, f"mount source {source} may not contain '..'")
            return
        self.path(source, source, file, where, write=not read_only)

    def sites(self, sc: SiteCatalog) -> None:
        file, prefix = sc.source_file, _prefix(sc.source_prefix)
        for i, site in enumerate(sc.sites):
            base = f"{prefix}sites[{i}]"
            self.profiles(site.profiles, file, f"{base}.profiles")
            for j, d in enumerate(site.directories):
                dwhere = f"{base}.directories[{j}]"
                if d.path is not None:
                    self.path(d.path, d.path, file, f"{dwhere}.path", write=True)
                for k, fs in enumerate(d.file_servers):
                    fwhere = f"{dwhere}.fileServers[{k}]"
                    self.profiles(fs.profiles, file, f"{fwhere}.profiles")
                    self.url(fs.url, file, f"{fwhere}.url", write=fs.operation != "get")

    def workflow(self, wf: Workflow, replica_paths: dict[str, list[str]]) -> Iterator[str]:
        """Check the workflow's own profiles and jobs; yield sub-workflow files to check."""
        file = wf.source_file
        self.profiles(wf.profiles, file, "profiles")
        for i, job in enumerate(wf.jobs):
            self.profiles(job.profiles, file, f"jobs[{i}].profiles")
            for j, use in enumerate(job.uses):
                self.lfn(use.lfn, file, f"jobs[{i}].uses[{j}].lfn")
            for name in ("stdin", "stdout", "stderr"):
                value = getattr(job, name)
                if value:
                    self.lfn(value, file, f"jobs[{i}].{name}")
            if isinstance(job, CondorWorkflowJob) and not self.policy.allow_condor_workflows:
                self.add(
                    file,
                    f"jobs[{i}].type",
                    "condorWorkflow jobs (a DAG file run as is) are only allowed for admins",
                )
            elif isinstance(job, PegasusWorkflowJob):
                for local in replica_paths.get(job.file, [])[:1]:
                    if self.policy.may_read(local):
                        yield local


def _staged_ok(policy: SitePolicy, local: str) -> bool:
    """A stageable executable is copied, not run in place: readable and allowed to run."""
    return policy.allow_own_executables and policy.may_read(local)


def _prefix(prefix: str) -> str:
    return f"{prefix}." if prefix else ""


def _local_paths(catalogs: Iterable[ReplicaCatalog]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rc in catalogs:
        for rep in rc.replicas:
            if rep.regex:
                continue
            for pfn in rep.pfns:
                value = pfn.pfn
                if value.startswith("file://"):
                    out.setdefault(rep.lfn, []).append(urlparse(value).path)
                elif "://" not in value:
                    out.setdefault(rep.lfn, []).append(value)
    return out


def check_policy(
    workflow: Workflow,
    replica_catalogs: Iterable[ReplicaCatalog],
    transformation_catalogs: Iterable[TransformationCatalog],
    site_catalogs: Iterable[SiteCatalog],
    properties: dict[str, str],
    policy: SitePolicy,
    *,
    properties_file: str | None = None,
    max_depth: int = 10,
) -> list[Problem]:
    """Every violation of `policy` in a planning run's documents (empty list: all allowed).

    Pass the layered catalogs exactly as the planner uses them (`PlanInputs.catalogs.*`),
    including inline ones. Sub-workflow files (`pegasusWorkflow`) that the replica catalogs name
    as local files are loaded and checked too; they inherit the outer catalogs.
    """
    token = _DIRS.set({})
    try:
        return _check(
            workflow,
            replica_catalogs,
            transformation_catalogs,
            site_catalogs,
            properties,
            policy,
            properties_file,
            max_depth,
        )
    finally:
        _DIRS.reset(token)


def _check(
    workflow: Workflow,
    replica_catalogs: Iterable[ReplicaCatalog],
    transformation_catalogs: Iterable[TransformationCatalog],
    site_catalogs: Iterable[SiteCatalog],
    properties: dict[str, str],
    policy: SitePolicy,
    properties_file: str | None,
    max_depth: int,
) -> list[Problem]:
    from planner.errors import SpecError
    from planner.loader import load_workflow

    walk = _Walk(policy)
    rcs = list(replica_catalogs)
    seen: set[str] = set()
    for rc in rcs:
        walk.replicas(rc)
    for tc in transformation_catalogs:
        walk.transformations(tc)
    for sc in site_catalogs:
        walk.sites(sc)
    props = _Walk(policy)
    for key in properties:
        if key.startswith("condor."):
            props.condor_key(key[len("condor.") :], properties_file, key)
        elif key.startswith("dagman.") and _DAGMAN_FORBIDDEN.match(key[7:].upper()):
            props.add(properties_file, key, f"dagman profile {key!r} is not allowed")
    todo = [(workflow, 0)]
    while todo:
        wf, depth = todo.pop()
        paths = _local_paths([*(wf.replica_catalog and [wf.replica_catalog] or []), *rcs])
        for sub_file in list(walk.workflow(wf, paths)):
            real = _real(sub_file)
            if real in seen or depth >= max_depth:
                continue
            seen.add(real)
            try:
                inner = load_workflow(sub_file)
            except SpecError:
                continue  # the planner reports it when it plans the sub-workflow
            if inner.replica_catalog is not None:
                walk.replicas(inner.replica_catalog)
            if inner.transformation_catalog is not None:
                walk.transformations(inner.transformation_catalog)
            if isinstance(inner.site_catalog, SiteCatalog):
                walk.sites(inner.site_catalog)
            todo.append((inner, depth + 1))
    located = [_property_line(p, properties_file) for p in props.problems]
    return [*located, *locate(walk.problems)]


def _property_line(p: Problem, properties_file: str | None) -> Problem:
    if properties_file is None:
        return p
    try:
        lines = Path(properties_file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return p
    line = None
    for n, text in enumerate(lines, start=1):
        if text.lstrip().startswith(p.path):
            line = n
    return Problem(p.file, line, p.path, p.message, p.code)
