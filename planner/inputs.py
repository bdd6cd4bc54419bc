"""Everything a planning run reads, loaded and checked in one call: `load_inputs`.

This is the front door for `aerie plan`, the gateway's upload validation and `planner.plan`:
it loads the workflow, its catalogs (inline and separate files) and the properties, reports the
problems of *all* documents together (`SpecError`), then runs the semantic checks
(`PlanningError`), so a user sees every mistake in one round.

Which catalog files are used, first found wins per kind:

1. the files passed in (`replica_catalogs=`, `transformation_catalogs=`, `site_catalogs=`);
2. the property `pegasus.catalog.{replica,transformation,site}.file`;
3. `replicas.yml`, `transformations.yml`, `sites.yml` beside the workflow file (Pegasus looks
   in the current directory; beside the workflow is the equivalent for uploads and the CLI);
4. for the site catalog, the workflow's `siteCatalog: {$ref: …}` when it names a local file
   (remote references are not fetched: pass the file instead).

Relative paths from properties are resolved against the workflow's directory. Entries of the
workflow's inline catalogs take precedence over files (as in Pegasus), and replica catalogs
inherited from a parent workflow (`inherited_replicas=`) come last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from planner.catalogs import Catalogs, directory_replica_catalog
from planner.checks import check
from planner.errors import PlanningError, Problem, SpecError
from planner.graph import Graph, build_graph
from planner.loader import (
    load_replica_catalog,
    load_site_catalog,
    load_transformation_catalog,
    load_workflow,
    locate,
)
from planner.properties import Properties
from planner.spec import (
    ReplicaCatalog,
    SiteCatalog,
    SiteCatalogRef,
    TransformationCatalog,
    Workflow,
)

__all__ = ["PlanInputs", "load_inputs"]

PathLike = str | Path

_DEFAULT_NAMES = {
    "replica": "replicas.yml",
    "transformation": "transformations.yml",
    "site": "sites.yml",
}


@dataclass(frozen=True)
class PlanInputs:
    """A loaded, checked planning run: the workflow, its indexed catalogs, properties, graph."""

    workflow: Workflow
    catalogs: Catalogs
    properties: Properties
    graph: Graph
    files: dict[str, list[str]] = field(default_factory=dict)
    """The documents that were read, by kind (`workflow`, `replica`, `transformation`, `site`,
    `properties`): the planner copies them into the submit directory's `catalogs/`."""


def load_inputs(
    workflow: PathLike,
    *,
    replica_catalogs: Sequence[PathLike] = (),
    transformation_catalogs: Sequence[PathLike] = (),
    site_catalogs: Sequence[PathLike] = (),
    properties: Properties | PathLike | None = None,
    sites: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    inherited_replicas: Sequence[ReplicaCatalog] = (),
    input_dirs: Sequence[PathLike] = (),
    discover: bool = True,
    run_checks: bool = True,
    confine_to: PathLike | None = None,
) -> PlanInputs:
    """Load and check one planning run; raise `SpecError` or `PlanningError` with every problem.

    `input_dirs` add every file under each directory as a replica on `local`
    (`pegasus-plan --input-dir`), after the catalog files and before `inherited_replicas`.
    `env` expands `${VAR}` in site and transformation catalogs (never implicitly from the
    process environment). `discover=False` turns off looking for catalog files beside the
    workflow. `run_checks=False` skips the semantic checks (the graph is still built).
    `confine_to` (the gateway passes the run's upload directory) refuses catalog files that the
    documents themselves name (`pegasus.catalog.*.file`, `siteCatalog.$ref`) outside that
    directory, so an uploaded workflow cannot make the server read other files.
    """
    root = Path(confine_to).resolve() if confine_to is not None else None

    def allowed(p: Path, file: str | None, field_: str, line: int | None = None) -> bool:
        if root is None or p.resolve().is_relative_to(root):
            return True
        msg = f"{str(p)!r} is outside the run's directory"
        problems.append(Problem(file, line, field_, msg, "forbidden"))
        return False

    problems: list[Problem] = []
    files: dict[str, list[str]] = {"workflow": [str(workflow)]}

    props: Properties
    if isinstance(properties, Properties):
        props = properties
    elif properties is not None:
        try:
            props = Properties.load(properties)
            files["properties"] = [str(properties)]
        except SpecError as exc:
            problems.extend(exc.problems)
            props = Properties()
    else:
        props = Properties()

    wf: Workflow | None = None
    try:
        wf = load_workflow(workflow)
    except SpecError as exc:
        problems.extend(exc.problems)
    base = Path(workflow).parent

    def pick(kind: str, given: Sequence[PathLike]) -> list[Path]:
        if given:
            return [Path(p) for p in given]
        key = f"pegasus.catalog.{kind}.file"
        from_props = props.get(key)
        if from_props:
            p = Path(from_props)
            p = p if p.is_absolute() else base / p
            props_file = files.get("properties", [None])[0]
            line = _property_line(props_file, key) if props_file else None
            return [p] if allowed(p, props_file, key, line) else []
        if discover:
            p = base / _DEFAULT_NAMES[kind]
            if p.is_file() and p.resolve() != Path(workflow).resolve():
                return [p]
        return []

    rcs: list[ReplicaCatalog] = []
    for p in pick("replica", replica_catalogs):
        try:
            rcs.append(load_replica_catalog(p))
            files.setdefault("replica", []).append(str(p))
        except SpecError as exc:
            problems.extend(exc.problems)
    tcs: list[TransformationCatalog] = []
    for p in pick("transformation", transformation_catalogs):
        try:
            tcs.append(load_transformation_catalog(p, env=env))
            files.setdefault("transformation", []).append(str(p))
        except SpecError as exc:
            problems.extend(exc.problems)
    sc_paths = pick("site", site_catalogs)
    if not sc_paths and wf is not None and isinstance(wf.site_catalog, SiteCatalogRef):
        ref_path, problem = _resolve_ref(wf.site_catalog.ref, base, str(workflow))
        if problem is not None:
            problems.append(problem)
        elif ref_path is not None and allowed(ref_path, str(workflow), "siteCatalog.$ref"):
            if ref_path.is_file():
                sc_paths = [ref_path]
            else:
                ref = wf.site_catalog.ref
                problems.append(
                    Problem(
                        str(workflow),
                        None,
                        "siteCatalog.$ref",
                        f"site catalog {ref!r} not found",
                        "io",
                    )
                )
    scs: list[SiteCatalog] = []
    for p in sc_paths:
        try:
            scs.append(load_site_catalog(p, env=env))
            files.setdefault("site", []).append(str(p))
        except SpecError as exc:
            problems.extend(exc.problems)

    if problems or wf is None:
        raise SpecError(locate(problems))

    dir_rcs = [directory_replica_catalog(Path(d)) for d in input_dirs]
    catalogs = Catalogs.of(
        [
            *([wf.replica_catalog] if wf.replica_catalog else []),
            *rcs,
            *dir_rcs,
            *inherited_replicas,
        ],
        [*([wf.transformation_catalog] if wf.transformation_catalog else []), *tcs],
        [*([wf.site_catalog] if isinstance(wf.site_catalog, SiteCatalog) else []), *scs],
    )
    graph = build_graph(wf, infer_data_edges=props.infer_data_dependencies)
    if run_checks:
        found = check(
            wf,
            catalogs,
            sites,
            graph=graph,
            infer_data_edges=props.infer_data_dependencies,
        )
        if found:
            raise PlanningError(found)
    return PlanInputs(wf, catalogs, props, graph, files)


def _property_line(file: str, key: str) -> int | None:
    """The line that sets `key` in a properties file (last one wins, as when parsing)."""
    found = None
    try:
        lines = Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for n, text in enumerate(lines, start=1):
        stripped = text.lstrip()
        if stripped.startswith(key) and stripped[len(key) : len(key) + 1] in (
            "",
            " ",
            "=",
            ":",
            "\t",
        ):
            found = n
    return found


def _resolve_ref(ref: str, base: Path, wf_file: str) -> tuple[Path | None, Problem | None]:
    url = urlparse(ref)
    if url.scheme in ("", "file"):
        p = Path(url.path if url.scheme == "file" else ref)
        return (p if p.is_absolute() else base / p), None
    return None, Problem(
        wf_file,
        None,
        "siteCatalog.$ref",
        f"remote site catalog {ref!r} is not fetched; pass the site catalog file instead",
        "unsupported",
    )
