"""The catalog look-ups of one plan: ``planner.catalogs`` plus what only planning adds.

Look-up rules (inline catalogs first, regex replicas, transformation matching, automatic
``local``/``condorpool`` sites) live in ``planner.catalogs``; this adapter adds

- replicas known from outside the catalogs: a parent workflow's staging directory (Pegasus's
  ``--cache``) and the output replica catalogs of earlier runs (``--reuse``);
- the ``local`` site's default directories, which depend on the submit directory: shared scratch
  at ``<parent of submit dir>/wf-scratch/LOCAL`` and storage at ``<parent>/wf-output``; a
  ``local`` entry in the catalog that lacks one of them gets the default for it (SPEC §1.6).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from planner.catalogs import Replicas, Sites, Transformations, default_local_site
from planner.spec import (
    Container,
    Directory,
    FileServer,
    Pfn,
    ReplicaCatalog,
    Site,
    SiteCatalog,
    Transformation,
    TransformationCatalog,
)


class Catalogs:
    def __init__(
        self,
        replicas: Sequence[ReplicaCatalog] = (),
        transformations: Sequence[TransformationCatalog] = (),
        sites: Sequence[SiteCatalog] = (),
        local_base: Path = Path("."),
        extra_replicas: dict[str, list[Pfn]] | None = None,
    ) -> None:
        self.replicas = list(replicas)
        self._replicas = Replicas(replicas)
        self._transformations = Transformations(transformations)
        self._sites = Sites(sites)
        self._extra = extra_replicas or {}
        self._local = self._complete_local(local_base)

    def _complete_local(self, local_base: Path) -> Site:
        defaults = default_local_site(local_base / "submit")
        local = self._sites.get("local") or Site(name="local")
        dirs = list(local.directories)
        if local.directory("sharedScratch") is None:
            dirs.append(defaults.directories[0])
        if local.directory("sharedStorage") is None and local.directory("localStorage") is None:
            dirs.append(defaults.directories[1])
        return dataclasses.replace(local, directories=tuple(dirs))

    # ------------------------------------------------------------------ replicas

    def replica(self, lfn: str) -> tuple[list[Pfn], str | None]:
        """(PFNs, sha256) of an LFN: outside knowledge first, then the catalogs."""
        pfns: list[Pfn] = list(self._extra.get(lfn, ()))
        locations = self._replicas.lookup(lfn)
        pfns.extend(Pfn(site=loc.site, pfn=loc.pfn) for loc in locations)
        sha = next((loc.sha256 for loc in locations if loc.sha256), None)
        return pfns, sha

    def has_replica(self, lfn: str) -> bool:
        return lfn in self._extra or lfn in self._replicas

    # ------------------------------------------------------------------ transformations

    def transformation(
        self, namespace: str | None, name: str, version: str | None
    ) -> Transformation | None:
        return self._transformations.lookup(name, namespace, version)

    def container(self, name: str) -> Container | None:
        return self._transformations.container(name)

    # ------------------------------------------------------------------ sites

    def site(self, name: str) -> Site:
        if name == "local":
            return self._local
        site = self._sites.get(name)
        if site is None:
            raise KeyError(name)
        return site

    def has_site(self, name: str) -> bool:
        return name in self._sites

    def catalog_site_names(self) -> list[str]:
        """Sites named in the site catalog(s), in order (not the automatic ones)."""
        return self._sites.declared()

    def site_names(self) -> list[str]:
        """Every site a job may name: the catalog's, then the automatic local and condorpool."""
        return self._sites.names()


def file_server(directory: Directory, operation: str) -> FileServer:
    """The first file server that allows ``get`` or ``put`` (``all`` allows both)."""
    for fs in directory.file_servers:
        if fs.operation in ("all", operation):
            return fs
    return directory.file_servers[0]
