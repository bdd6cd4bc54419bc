"""Catalog look-ups the passes need, over the inline and file catalogs of one plan.

Inline catalogs (inside the workflow) are consulted before catalog files, and the first match
wins, as in Pegasus. Sites ``local`` and ``condorpool`` exist even when the site catalog does
not name them (SPEC §1.6): ``local`` with a shared scratch at ``<parent of submit dir>/wf-scratch
/LOCAL`` and storage at ``<parent>/wf-output``; a ``local`` entry in the catalog that lacks one of
those directories gets the default for it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from planner.spec import (
    Container,
    Directory,
    FileServer,
    Pfn,
    Profiles,
    Replica,
    ReplicaCatalog,
    Site,
    SiteCatalog,
    Transformation,
    TransformationCatalog,
)


def _default_dir(type_: str, path: Path) -> Directory:
    return Directory(
        type=type_,  # type: ignore[arg-type]
        path=str(path),
        file_servers=(FileServer(url=f"file://{path}", operation="all"),),
    )


@dataclass
class Catalogs:
    replicas: list[ReplicaCatalog] = field(default_factory=list)
    transformations: list[TransformationCatalog] = field(default_factory=list)
    sites: list[SiteCatalog] = field(default_factory=list)
    local_base: Path = Path(".")
    """Parent of the default local scratch and storage (the submit dir's parent)."""
    extra_replicas: dict[str, list[Pfn]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rc: dict[str, Replica] = {}
        self._rc_regex: list[tuple[re.Pattern[str], Replica]] = []
        for catalog in self.replicas:
            for rep in catalog.replicas:
                if rep.regex:
                    self._rc_regex.append((re.compile(rep.lfn), rep))
                elif rep.lfn in self._rc:
                    old = self._rc[rep.lfn]
                    merged = dataclasses.replace(old, pfns=old.pfns + rep.pfns)
                    self._rc[rep.lfn] = merged
                else:
                    self._rc[rep.lfn] = rep
        self._tc: dict[tuple[str | None, str, str | None], Transformation] = {}
        self._tc_by_name: dict[str, list[Transformation]] = {}
        self._containers: dict[str, Container] = {}
        for tcat in self.transformations:
            for tx in tcat.transformations:
                self._tc.setdefault((tx.namespace, tx.name, tx.version), tx)
                self._tc_by_name.setdefault(tx.name, []).append(tx)
            for cont in tcat.containers:
                self._containers.setdefault(cont.name, cont)
        self._sites: dict[str, Site] = {}
        for scat in self.sites:
            for site in scat.sites:
                self._sites.setdefault(site.name, site)
        self._complete_local()
        if "condorpool" not in self._sites:
            self._sites["condorpool"] = Site(
                name="condorpool", profiles=Profiles(pegasus={"style": "condor"})
            )

    def _complete_local(self) -> None:
        parent = self.local_base
        local = self._sites.get("local") or Site(name="local")
        dirs = list(local.directories)
        if local.directory("sharedScratch") is None:
            dirs.append(_default_dir("sharedScratch", parent / "wf-scratch" / "LOCAL"))
        if local.directory("sharedStorage") is None and local.directory("localStorage") is None:
            dirs.append(_default_dir("sharedStorage", parent / "wf-output"))
        self._sites["local"] = dataclasses.replace(local, directories=tuple(dirs))

    # ------------------------------------------------------------------ replicas

    def replica(self, lfn: str) -> tuple[list[Pfn], str | None]:
        """(PFNs, sha256) of an LFN: exact entries first, then the first matching regex."""
        pfns: list[Pfn] = list(self.extra_replicas.get(lfn, ()))
        rep = self._rc.get(lfn)
        if rep is not None:
            pfns.extend(rep.pfns)
            return pfns, rep.checksum.sha256 if rep.checksum else None
        for pattern, rxrep in self._rc_regex:
            m = pattern.fullmatch(lfn)
            if m is not None:
                for p in rxrep.pfns:
                    url = p.pfn.replace("[0]", m.group(0))
                    for i, g in enumerate(m.groups(), start=1):
                        url = url.replace(f"[{i}]", g or "")
                    pfns.append(Pfn(site=p.site, pfn=url))
                return pfns, rxrep.checksum.sha256 if rxrep.checksum else None
        return pfns, None

    def has_replica(self, lfn: str) -> bool:
        return bool(self.replica(lfn)[0])

    # ------------------------------------------------------------------ transformations

    def transformation(
        self, namespace: str | None, name: str, version: str | None
    ) -> Transformation | None:
        """Exact (namespace, name, version) match, else the only entry with that name whose
        unspecified parts agree (a job that names no version takes any version)."""
        tx = self._tc.get((namespace, name, version))
        if tx is not None:
            return tx
        for cand in self._tc_by_name.get(name, ()):
            if namespace is not None and cand.namespace not in (None, namespace):
                continue
            if version is not None and cand.version not in (None, version):
                continue
            return cand
        return None

    def container(self, name: str) -> Container | None:
        return self._containers.get(name)

    # ------------------------------------------------------------------ sites

    def site(self, name: str) -> Site:
        try:
            return self._sites[name]
        except KeyError:
            raise KeyError(name) from None

    def has_site(self, name: str) -> bool:
        return name in self._sites

    def site_names(self) -> list[str]:
        return list(self._sites)

    def catalog_site_names(self) -> list[str]:
        """Sites named in the site catalog(s), in order (not the auto-created ones)."""
        out: list[str] = []
        for scat in self.sites:
            out.extend(s.name for s in scat.sites if s.name not in out)
        return out


def file_server(directory: Directory, operation: str) -> FileServer:
    """The first file server that allows ``get`` or ``put`` (``all`` allows both)."""
    for fs in directory.file_servers:
        if fs.operation in ("all", operation):
            return fs
    return directory.file_servers[0]


def urls_of(pfns: Iterable[Pfn]) -> list[str]:
    return [p.pfn for p in pfns]
