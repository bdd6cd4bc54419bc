"""Look-ups over the replica, transformation and site catalogs, as the planner needs them.

The spec models keep catalogs as written; these classes index them once (dicts keyed by LFN,
transformation name and site name) so that planning 100k jobs does 100k dict look-ups, not scans.
Several catalogs of one kind are layered: the first given wins, and `planner.inputs` passes the
workflow's inline catalog first, because Pegasus gives entries inside the workflow precedence over
the separate catalog files.

Replica catalog semantics (SPEC.md §1.4): exact LFN entries are used when present; otherwise the
first regex entry whose pattern matches the whole LFN wins, and its PFNs may use `[0]` (the whole
match) and `[1]`…`[n]` (groups), e.g. `alpha\\.(csv|txt)` → `file:///data/[1]/[0]`.
Regex entries are honoured in inline catalogs too (Pegasus documents them for standalone files
only); patterns use Python's `re` syntax, which agrees with Java's for ordinary expressions.

Transformation look-up: a job names `namespace::name:version`; a job that leaves out the
namespace or version matches a catalog entry with any namespace or version (exact matches first).

Sites `local` and `condorpool` exist even when no catalog names them, as in Pegasus
(`auto_site`, `default_local_site`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from planner.loader import gc_paused
from planner.spec import (
    Container,
    Directory,
    FileServer,
    Job,
    Pfn,
    Profiles,
    Replica,
    ReplicaCatalog,
    Site,
    SiteCatalog,
    Transformation,
    TransformationCatalog,
    TransformationSite,
)

__all__ = [
    "AUTO_SITES",
    "Catalogs",
    "directory_replica_catalog",
    "ReplicaLocation",
    "Replicas",
    "Sites",
    "Transformations",
    "auto_site",
    "default_local_site",
    "substitute_groups",
]

AUTO_SITES = ("local", "condorpool")
"""Sites Pegasus creates when the site catalog does not define them."""


@dataclass(frozen=True, slots=True)
class ReplicaLocation:
    """Where one copy of a file lives (a regex entry's PFN already has its groups substituted)."""

    lfn: str
    site: str
    pfn: str
    sha256: str | None = None
    regex: bool = False


_GROUP_REF = re.compile(r"\[(\d+)\]")


def substitute_groups(pfn: str, match: re.Match[str]) -> str:
    """Replace `[0]` with the whole match and `[n]` with group n; other brackets stay."""

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n <= (match.re.groups or 0):
            return match.group(n) or ""
        return m.group(0)

    return _GROUP_REF.sub(sub, pfn)


@dataclass(frozen=True, slots=True)
class _RegexEntry:
    pattern: re.Pattern[str]
    replica: Replica
    catalog: ReplicaCatalog
    index: int


class Replicas:
    """All replica catalogs of a run, indexed by LFN."""

    def __init__(self, catalogs: Iterable[ReplicaCatalog] = ()) -> None:
        self.catalogs: tuple[ReplicaCatalog, ...] = tuple(catalogs)
        self._exact: dict[str, list[Replica]] = {}
        self._regex: list[_RegexEntry] = []
        self.bad_patterns: list[tuple[ReplicaCatalog, int, str]] = []
        """Regex entries whose pattern does not compile: (catalog, index, error)."""
        for rc in self.catalogs:
            for i, rep in enumerate(rc.replicas):
                if rep.regex:
                    try:
                        self._regex.append(_RegexEntry(re.compile(rep.lfn), rep, rc, i))
                    except re.error as exc:
                        self.bad_patterns.append((rc, i, str(exc)))
                else:
                    self._exact.setdefault(rep.lfn, []).append(rep)

    def __contains__(self, lfn: object) -> bool:
        if not isinstance(lfn, str):
            return False
        return lfn in self._exact or self._match(lfn) is not None

    def _match(self, lfn: str) -> tuple[_RegexEntry, re.Match[str]] | None:
        for entry in self._regex:
            m = entry.pattern.fullmatch(lfn)
            if m is not None:
                return entry, m
        return None

    def lookup(self, lfn: str) -> list[ReplicaLocation]:
        """Every known copy of `lfn` (exact entries, else the first matching regex entry)."""
        reps = self._exact.get(lfn)
        if reps:
            return [
                ReplicaLocation(lfn, p.site, p.pfn, r.checksum.sha256 if r.checksum else None)
                for r in reps
                for p in r.pfns
            ]
        hit = self._match(lfn)
        if hit is None:
            return []
        entry, m = hit
        rep = entry.replica
        sha = rep.checksum.sha256 if rep.checksum else None
        return [
            ReplicaLocation(lfn, p.site, substitute_groups(p.pfn, m), sha, True) for p in rep.pfns
        ]

    def entries(self, lfn: str) -> list[Replica]:
        """The catalog entries (exact, or the matching regex one) describing `lfn`."""
        reps = self._exact.get(lfn)
        if reps:
            return list(reps)
        hit = self._match(lfn)
        return [hit[0].replica] if hit else []

    def sha256(self, lfn: str) -> str | None:
        """The checksum the catalog records for `lfn`, if any."""
        for rep in self.entries(lfn):
            if rep.checksum is not None and rep.checksum.sha256:
                return rep.checksum.sha256
        return None

    def metadata(self, lfn: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for rep in reversed(self.entries(lfn)):
            out.update(rep.metadata)
        return out

    def lfns(self) -> list[str]:
        """LFNs of the exact (non-regex) entries."""
        return list(self._exact)


class Transformations:
    """All transformation catalogs of a run, indexed by name; containers by name."""

    def __init__(self, catalogs: Iterable[TransformationCatalog] = ()) -> None:
        self.catalogs: tuple[TransformationCatalog, ...] = tuple(catalogs)
        self._by_name: dict[str, list[Transformation]] = {}
        self._containers: dict[str, Container] = {}
        for tc in self.catalogs:
            for tr in tc.transformations:
                self._by_name.setdefault(tr.name, []).append(tr)
            for c in tc.containers:
                self._containers.setdefault(c.name, c)

    def lookup(
        self, name: str, namespace: str | None = None, version: str | None = None
    ) -> Transformation | None:
        """The entry for `namespace::name:version`; None in the job's parts matches anything."""
        candidates = self._by_name.get(name)
        if not candidates:
            return None
        best: Transformation | None = None
        best_score = -1
        for tr in candidates:
            if namespace is not None and tr.namespace != namespace:
                continue
            if version is not None and tr.version != version:
                continue
            score = int(tr.namespace == namespace) + int(tr.version == version)
            if score > best_score:
                best, best_score = tr, score
        return best

    def for_job(self, job: Job) -> Transformation | None:
        return self.lookup(job.name, job.namespace, job.version)

    def lookup_requirement(self, requirement: str) -> Transformation | None:
        """Resolve a `requires` item: `ns::name:version`, with `ns::` and `:version` optional."""
        ns: str | None = None
        rest = requirement
        if "::" in rest:
            ns, rest = rest.split("::", 1)
        ver: str | None = None
        if ":" in rest:
            rest, ver = rest.split(":", 1)
        return self.lookup(rest, ns, ver)

    def container(self, name: str) -> Container | None:
        return self._containers.get(name)

    def site_entries(self, tr: Transformation, site: str) -> list[TransformationSite]:
        return [s for s in tr.sites if s.name == site]

    def __iter__(self) -> Iterator[Transformation]:
        for trs in self._by_name.values():
            yield from trs

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_name.values())


def directory_replica_catalog(directory: Path, site: str = "local") -> ReplicaCatalog:
    """A replica catalog of every file under `directory` (`pegasus-plan --input-dir`).

    LFNs are paths relative to the directory (`sub/x.txt`), PFNs absolute `file://` URLs on
    `site`, as Pegasus's Directory replica catalog backend does; hidden files are left out.
    """
    root = Path(directory).resolve()
    replicas = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            replicas.append(Replica(lfn=rel.as_posix(), pfns=(Pfn(site=site, pfn=f"file://{p}"),)))
    return ReplicaCatalog(replicas=tuple(replicas))


def auto_site(name: str) -> Site | None:
    """The site Pegasus creates when `name` is missing from the catalog (`local`, `condorpool`).

    The auto `local` site here has no directories: they depend on the submit directory, see
    `default_local_site`.
    """
    if name == "condorpool":
        return Site(name="condorpool", profiles=Profiles(pegasus={"style": "condor"}))
    if name == "local":
        return Site(name="local")
    return None


def default_local_site(submit_dir: Path) -> Site:
    """Pegasus's auto-created `local` site for a run whose submit directory is `submit_dir`.

    Scratch at `<parent of submit dir>/wf-scratch/LOCAL`, storage at `<parent>/wf-output`, both
    served by `file://` with operation `all` (SPEC.md §1.6).
    """
    parent = Path(submit_dir).resolve().parent
    scratch = parent / "wf-scratch" / "LOCAL"
    storage = parent / "wf-output"
    return Site(
        name="local",
        directories=(
            Directory(
                type="sharedScratch",
                path=str(scratch),
                file_servers=(FileServer(url=f"file://{scratch}", operation="all"),),
            ),
            Directory(
                type="sharedStorage",
                path=str(storage),
                file_servers=(FileServer(url=f"file://{storage}", operation="all"),),
            ),
        ),
    )


class Sites:
    """The site catalog(s) of a run, by name, plus Pegasus's automatic `local` and `condorpool`."""

    def __init__(self, catalogs: Iterable[SiteCatalog] = ()) -> None:
        self.catalogs: tuple[SiteCatalog, ...] = tuple(catalogs)
        self._by_name: dict[str, Site] = {}
        for sc in self.catalogs:
            for site in sc.sites:
                self._by_name.setdefault(site.name, site)

    def get(self, name: str) -> Site | None:
        """The catalog's site, else the automatic one for `local`/`condorpool`, else None."""
        site = self._by_name.get(name)
        if site is not None:
            return site
        return auto_site(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._by_name or name in AUTO_SITES)

    def declared(self) -> list[str]:
        """Names of the sites the catalogs define, in catalog order."""
        return list(self._by_name)

    def names(self) -> list[str]:
        """Every known site name, including the automatic ones."""
        return [*self._by_name, *(s for s in AUTO_SITES if s not in self._by_name)]


@dataclass(frozen=True)
class Catalogs:
    """The three catalogs of one planning run, already layered and indexed."""

    replicas: Replicas = field(default_factory=Replicas)
    transformations: Transformations = field(default_factory=Transformations)
    sites: Sites = field(default_factory=Sites)

    @classmethod
    def of(
        cls,
        replica_catalogs: Sequence[ReplicaCatalog] = (),
        transformation_catalogs: Sequence[TransformationCatalog] = (),
        site_catalogs: Sequence[SiteCatalog] = (),
    ) -> Catalogs:
        """Index the given catalogs; earlier ones win where they overlap."""
        with gc_paused():
            return cls(
                Replicas(replica_catalogs),
                Transformations(transformation_catalogs),
                Sites(site_catalogs),
            )
