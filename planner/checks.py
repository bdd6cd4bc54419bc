"""Semantic checks: what a schema cannot see, reported all at once with file, line and field.

`check(workflow, catalogs, sites)` returns every problem it finds (an empty list means the
workflow can be planned as far as its inputs go):

| code | rule |
|---|---|
| `duplicate-job` | two jobs share an id |
| `unknown-job` | a `jobDependencies` entry names a job that does not exist |
| `cycle` | the graph (declared + inferred edges) has a cycle; the message names it |
| `produced-twice` | two jobs have the same LFN as `output` (`inout`/`checkpoint` may share) |
| `input-output` | one job has the same LFN as input and as output (use `inout` or `checkpoint`) |
| `missing-input` | a non-optional input is produced by no job and found in no replica catalog |
| `unknown-transformation` | a job's transformation (or a `requires` item) is not in the TC |
| `unknown-container` | a TC site entry names a container the TC does not define |
| `unknown-site` | `--sites`, a job's `execution.site`, or all TC sites of its transformation |
|  | are missing from the site catalog |
| `bad-regex` | a regex replica entry's `lfn` does not compile |

Each rule reports at most `MAX_PER_RULE` problems and then one "… and N more" line, so a
100k-job workflow with a systematic mistake yields a readable list.

Lines are filled in at the end by re-reading the files the models came from (error path only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from planner.catalogs import Catalogs
from planner.errors import PlanningError, Problem
from planner.graph import Graph, build_graph, cycle_problem
from planner.loader import gc_paused, locate
from planner.spec import Job, SiteCatalog, Workflow

__all__ = ["MAX_PER_RULE", "check", "check_or_raise"]

MAX_PER_RULE = 50


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.counts: dict[str, int] = {}
        self.last: dict[str, Problem] = {}

    def add(self, file: str | None, path: str, message: str, code: str) -> None:
        n = self.counts.get(code, 0) + 1
        self.counts[code] = n
        if n <= MAX_PER_RULE:
            p = Problem(file, None, path, message, code)
            self.problems.append(p)
            self.last[code] = p

    def finish(self) -> list[Problem]:
        out = list(self.problems)
        for code, n in self.counts.items():
            if n > MAX_PER_RULE:
                last = self.last[code]
                more = n - MAX_PER_RULE
                out.append(Problem(last.file, None, "", f"… and {more} more {code} problems", code))
        return out


def _prefixed(prefix: str, path: str) -> str:
    if not prefix:
        return path
    return f"{prefix}.{path}" if path else prefix


def check(
    workflow: Workflow,
    catalogs: Catalogs | None = None,
    sites: Sequence[str] | None = None,
    *,
    graph: Graph | None = None,
    infer_data_edges: bool = True,
    texts: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every semantic problem of `workflow` planned against `catalogs` on candidate `sites`.

    `catalogs` defaults to the workflow's inline catalogs alone. `texts` maps file names to
    their text for documents that were loaded from strings (so lines can still be found).
    """
    with gc_paused():
        return _check(workflow, catalogs, sites, graph, infer_data_edges, texts)


def _check(
    workflow: Workflow,
    catalogs: Catalogs | None,
    sites: Sequence[str] | None,
    graph: Graph | None,
    infer_data_edges: bool,
    texts: Mapping[str, str] | None,
) -> list[Problem]:
    if catalogs is None:
        catalogs = Catalogs.of(
            [workflow.replica_catalog] if workflow.replica_catalog else [],
            [workflow.transformation_catalog] if workflow.transformation_catalog else [],
            [workflow.site_catalog] if isinstance(workflow.site_catalog, SiteCatalog) else [],
        )
    out = _Collector()
    wf_file = workflow.source_file
    jobs = workflow.jobs

    # ids
    first: dict[str, int] = {}
    for i, job in enumerate(jobs):
        j = first.setdefault(job.id, i)
        if j != i:
            out.add(
                wf_file,
                f"jobs[{i}].id",
                f"duplicate job id {job.id!r} (also jobs[{j}])",
                "duplicate-job",
            )
    for i, dep in enumerate(workflow.job_dependencies):
        if dep.id not in first:
            out.add(
                wf_file, f"jobDependencies[{i}].id", f"unknown job id {dep.id!r}", "unknown-job"
            )
        for k, cid in enumerate(dep.children):
            if cid not in first:
                out.add(
                    wf_file,
                    f"jobDependencies[{i}].children[{k}]",
                    f"unknown job id {cid!r}",
                    "unknown-job",
                )

    # files
    producer: dict[str, int] = {}
    written: set[str] = set()  # output or inout anywhere
    for i, job in enumerate(jobs):
        own_in: dict[str, int] = {}
        own_out: dict[str, int] = {}
        for k, u in enumerate(job.uses):
            t = u.type
            if t == "output":
                p = producer.setdefault(u.lfn, i)
                if p != i:
                    out.add(
                        wf_file,
                        f"jobs[{i}].uses[{k}]",
                        f"file {u.lfn!r} is also produced by job {jobs[p].id!r} (jobs[{p}])",
                        "produced-twice",
                    )
                written.add(u.lfn)
                own_out.setdefault(u.lfn, k)
            elif t == "input":
                own_in.setdefault(u.lfn, k)
            elif t == "inout":
                written.add(u.lfn)
        for lfn, k in own_out.items():
            if lfn in own_in:
                out.add(
                    wf_file,
                    f"jobs[{i}].uses[{k}]",
                    f"file {lfn!r} is both an input and an output of job {job.id!r} "
                    "(declare it once, as inout or checkpoint)",
                    "input-output",
                )

    replicas = catalogs.replicas
    for i, job in enumerate(jobs):
        for k, u in enumerate(job.uses):
            if u.type not in ("input", "inout") or u.optional:
                continue
            lfn = u.lfn
            if u.type == "input" and lfn in written:
                continue
            if u.type == "inout" and lfn in producer:
                continue
            if lfn in replicas:
                continue
            out.add(
                wf_file,
                f"jobs[{i}].uses[{k}].lfn",
                f"input file {lfn!r} is produced by no job and has no replica in the "
                "replica catalog",
                "missing-input",
            )
        if job.type != "job":
            sub_file = job.file
            if (
                sub_file not in written
                and sub_file not in replicas
                and not any(u.lfn == sub_file for u in job.uses)
            ):
                out.add(
                    wf_file,
                    f"jobs[{i}].file",
                    f"sub-workflow file {sub_file!r} is produced by no job and has no replica "
                    "in the replica catalog",
                    "missing-input",
                )

    for rc, idx, err in replicas.bad_patterns:
        out.add(
            rc.source_file,
            _prefixed(rc.source_prefix, f"replicas[{idx}].lfn"),
            f"invalid regular expression: {err}",
            "bad-regex",
        )

    _check_transformations(workflow, catalogs, sites, out)

    # graph
    g = graph if graph is not None else build_graph(workflow, infer_data_edges=infer_data_edges)
    cycle = g.find_cycle()
    if cycle:
        cp = cycle_problem(cycle, g.index, wf_file)
        out.add(cp.file, cp.path, cp.message, cp.code)

    located = locate(out.finish(), texts)
    return sorted(located, key=lambda p: (p.file or "", p.line if p.line is not None else 1 << 30))


def _check_transformations(
    workflow: Workflow, catalogs: Catalogs, sites: Sequence[str] | None, out: _Collector
) -> None:
    wf_file = workflow.source_file
    tcs = catalogs.transformations
    known_sites = catalogs.sites
    for k, s in enumerate(sites or ()):
        if s not in known_sites:
            out.add(
                None,
                f"--sites[{k}]" if sites and len(sites) > 1 else "--sites",
                f"unknown site {s!r} (not in the site catalog)",
                "unknown-site",
            )

    seen_tr: dict[int, bool] = {}
    for i, job in enumerate(workflow.jobs):
        pinned = job.profiles.selector_value("execution.site")
        if pinned is not None and pinned not in known_sites:
            key = "execution.site" if "execution.site" in job.profiles.selector else "executionPool"
            ns = "selector" if key == "execution.site" else "hints"
            out.add(
                wf_file,
                f"jobs[{i}].profiles.{ns}.{key}",
                f"unknown site {pinned!r} (not in the site catalog)",
                "unknown-site",
            )
        if not isinstance(job, Job):
            continue
        tr = tcs.for_job(job)
        if tr is None:
            out.add(
                wf_file,
                f"jobs[{i}].name",
                f"transformation {job.transformation_key!r} is not in the transformation catalog",
                "unknown-transformation",
            )
            continue
        ok = seen_tr.get(id(tr))
        if ok is None:
            ok = any(s.name in known_sites for s in tr.sites)
            seen_tr[id(tr)] = ok
        if not ok:
            names = ", ".join(sorted({s.name for s in tr.sites}))
            out.add(
                wf_file,
                f"jobs[{i}].name",
                f"transformation {tr.key!r} exists only on sites not in the site catalog: {names}",
                "unknown-site",
            )
        elif pinned is not None and pinned in known_sites:
            if not any(s.name == pinned or s.type == "stageable" for s in tr.sites):
                out.add(
                    wf_file,
                    f"jobs[{i}].profiles.selector.execution.site",
                    f"transformation {tr.key!r} is not installed on site {pinned!r} and has no "
                    "stageable entry",
                    "unknown-site",
                )

    for tc in tcs.catalogs:
        for t, tr in enumerate(tc.transformations):
            for q, req in enumerate(tr.requires):
                if tcs.lookup_requirement(req) is None:
                    out.add(
                        tc.source_file,
                        _prefixed(tc.source_prefix, f"transformations[{t}].requires[{q}]"),
                        f"required transformation {req!r} is not in the transformation catalog",
                        "unknown-transformation",
                    )
            for e, entry in enumerate(tr.sites):
                if entry.container is not None and tcs.container(entry.container) is None:
                    out.add(
                        tc.source_file,
                        _prefixed(tc.source_prefix, f"transformations[{t}].sites[{e}].container"),
                        f"container {entry.container!r} is not defined in the transformation "
                        "catalog's containers",
                        "unknown-container",
                    )


def check_or_raise(
    workflow: Workflow,
    catalogs: Catalogs | None = None,
    sites: Sequence[str] | None = None,
    *,
    graph: Graph | None = None,
    infer_data_edges: bool = True,
    texts: Mapping[str, str] | None = None,
) -> None:
    """`check`, raising `PlanningError` with every problem when there is any."""
    problems = check(
        workflow, catalogs, sites, graph=graph, infer_data_edges=infer_data_edges, texts=texts
    )
    if problems:
        raise PlanningError(problems)
