"""``plan()``: abstract workflow + catalogs + properties → executable workflow (SPEC §2.1 order).

1. tasks and edges (declared + data dependencies), cycle check, levels;
2. data reuse (unless ``force`` or ``pegasus.data.reuse.scope=none``);
3. site selection, profile merging, data configuration and staging site per job;
4. clustering (``cluster=("horizontal", "label")`` in the order given);
5. nodes, create-dir, stage-in, inter-site, stage-out and registration jobs;
6. cleanup (inplace, leaf or none);
7. sub-workflows planned statically into their own submit directories;
8. DAGMan attributes (retry, priority, category, POST) and code generation (.sub, .lite.json,
   .in), braindump, cache and metrics.

Everything here is pure computation; ``planner.write`` puts the result on disk.
"""

from __future__ import annotations

import dataclasses
import gc
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from planner import braindump
from planner.dag import ExecutableWorkflow, JobType, SubDag
from planner.errors import PlanningError
from planner.passes import cleanup, cluster, codegen, dagman, graph, reuse, sites, staging
from planner.passes.catalog import Catalogs
from planner.passes.errors import fail
from planner.passes.state import PlanState, Task
from planner.spec import (
    CondorWorkflowJob,
    PegasusWorkflowJob,
    Pfn,
    ReplicaCatalog,
    SiteCatalog,
    SiteCatalogRef,
    TransformationCatalog,
    Workflow,
)

CLEANUP_CHOICES = ("none", "leaf", "inplace")


@dataclass
class PlanOptions:
    """pegasus-plan's options, with its meanings.

    ``submit_dir`` is where ``write`` will put the files: the paths inside submit files and the
    default local staging directories (``<parent>/wf-scratch/LOCAL/<relative_dir>``, outputs in
    ``<parent>/wf-output``) are derived from it, so it is needed at planning time.
    """

    submit_dir: Path
    sites: list[str] | None = None
    output_sites: list[str] = field(default_factory=lambda: ["local"])
    staging_sites: dict[str, str] = field(default_factory=dict)
    cleanup: str = "inplace"
    cluster: list[str] = field(default_factory=list)
    reuse: list[Path] = field(default_factory=list)
    force: bool = False
    index: int = 0
    relative_dir: str | None = None
    wf_uuid: str | None = None
    root_uuid: str | None = None
    seed: int | None = None
    planner_args: str = ""
    workflow_file: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    """Files to copy into ``catalogs/`` (name → path): the workflow, catalogs, properties."""
    output_map: dict[str, str] = field(default_factory=dict)
    """LFN → URL: where a sub-workflow must deliver the outputs its parent job declares."""
    extra_replicas: dict[str, list[Pfn]] = field(default_factory=dict)
    """LFN → PFNs known from the parent workflow (Pegasus's ``--cache``)."""
    local_base: Path | None = None
    wrapper: str | None = None

    def __post_init__(self) -> None:
        self.submit_dir = Path(self.submit_dir).absolute()
        if self.cleanup not in CLEANUP_CHOICES:
            raise fail(
                "--cleanup",
                f"unknown cleanup strategy {self.cleanup!r} (use none, leaf or inplace)",
            )


def parse_staging_sites(values: Sequence[str]) -> dict[str, str]:
    """``--staging-site exec=staging[,exec2=staging2]`` or a bare ``staging`` for every site."""
    out: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if "=" in item:
                exec_site, _, staging_site = item.partition("=")
                if not exec_site or not staging_site:
                    raise fail("--staging-site", f"expected exec=staging, got {item!r}")
                out[exec_site] = staging_site
            else:
                out["*"] = item
    return out


def read_output_replicas(submit_dirs: Sequence[Path]) -> dict[str, list[Pfn]]:
    """The output replica catalogs (``<p>.replicas``, File-RC lines) of earlier runs."""
    out: dict[str, list[Pfn]] = {}
    for d in submit_dirs:
        d = Path(d)
        if not d.is_dir():
            raise fail("--reuse", f"{d} is not a directory")
        for rc in sorted(d.glob("*.replicas")):
            for n, line in enumerate(rc.read_text(encoding="utf-8").splitlines(), start=1):
                parts = line.split()
                if not parts or parts[0].startswith("#"):
                    continue
                if len(parts) < 2:
                    raise fail("--reuse", f'{rc}:{n}: expected `lfn pfn site="…"`')
                site = "local"
                for attr in parts[2:]:
                    if attr.startswith('site="'):
                        site = attr[6:].rstrip('"')
                out.setdefault(parts[0], []).append(Pfn(site=site, pfn=parts[1]))
    return out


def plan(
    workflow: Workflow,
    *,
    options: PlanOptions,
    replica_catalogs: Sequence[ReplicaCatalog] = (),
    transformation_catalogs: Sequence[TransformationCatalog] = (),
    site_catalogs: Sequence[SiteCatalog] = (),
    properties: Mapping[str, str] | None = None,
) -> ExecutableWorkflow:
    """Compile ``workflow`` into an executable workflow for ``options.submit_dir``.

    Inline catalogs in the workflow take precedence over the ones passed here. Raises
    ``planner.errors.PlanningError`` naming the job, file or option at fault.
    """
    # Planning allocates millions of small objects and frees almost none of them; CPython's
    # cyclic collector would rescan them all again and again (time grows quadratically with
    # the workflow), so it is paused for the duration.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan(
            workflow,
            options=options,
            replica_catalogs=replica_catalogs,
            transformation_catalogs=transformation_catalogs,
            site_catalogs=site_catalogs,
            properties=properties,
        )
    except PlanningError as exc:
        if options.workflow_file:
            # problems about jobs and dependencies are problems of the workflow file
            exc.problems = [
                dataclasses.replace(p, file=options.workflow_file)
                if p.file is None and p.path.startswith("job")
                else p
                for p in exc.problems
            ]
        raise
    finally:
        if was_enabled:
            gc.enable()


def _plan(
    workflow: Workflow,
    *,
    options: PlanOptions,
    replica_catalogs: Sequence[ReplicaCatalog],
    transformation_catalogs: Sequence[TransformationCatalog],
    site_catalogs: Sequence[SiteCatalog],
    properties: Mapping[str, str] | None,
) -> ExecutableWorkflow:
    started = time.time()
    t0 = time.perf_counter()
    props = dict(properties or {})
    rcs: list[ReplicaCatalog] = []
    tcs: list[TransformationCatalog] = []
    scs: list[SiteCatalog] = []
    if workflow.replica_catalog is not None:
        rcs.append(workflow.replica_catalog)
    rcs.extend(replica_catalogs)
    if workflow.transformation_catalog is not None:
        tcs.append(workflow.transformation_catalog)
    tcs.extend(transformation_catalogs)
    if isinstance(workflow.site_catalog, SiteCatalogRef):
        if not site_catalogs:
            raise fail(
                "siteCatalog.$ref",
                f"a referenced site catalog ({workflow.site_catalog.ref}) must be given as a "
                f"site catalog file (--sc)",
            )
    elif workflow.site_catalog is not None:
        scs.append(workflow.site_catalog)
    scs.extend(site_catalogs)

    extra = dict(options.extra_replicas)
    for lfn, pfns in read_output_replicas(options.reuse).items():
        extra.setdefault(lfn, []).extend(pfns)
    local_base = options.local_base or options.submit_dir.parent
    catalogs = Catalogs(
        replicas=rcs,
        transformations=tcs,
        sites=scs,
        local_base=local_base,
        extra_replicas=extra,
    )

    for site in options.output_sites:
        if not catalogs.has_site(site):
            raise fail("--output-sites", f"site {site!r} is not in the site catalog")
    wf_uuid = options.wf_uuid or str(uuid.uuid4())
    ew = ExecutableWorkflow(
        label=workflow.name,
        index=options.index,
        wf_uuid=wf_uuid,
        root_uuid=options.root_uuid or wf_uuid,
        submit_dir=options.submit_dir,
        wrapper=options.wrapper or f"{options.submit_dir}/aerie-lite",
    )
    timestamp = datetime.now().astimezone().strftime("%Y%m%dT%H%M%S%z")
    ew.braindump = {"timestamp": timestamp}
    state = PlanState(
        options=options,
        catalogs=catalogs,
        properties=props,
        wf=ew,
        rng=random.Random(options.seed),
    )

    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def timed(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[name] = round(now - mark, 4)
        mark = now

    graph.build(state, workflow)
    n_tasks = len(state.tasks)
    timed("graph")
    deleted = reuse.reduce(state)
    timed("reuse")
    base_profiles = sites.property_profiles(props)
    sites.merge_profiles(base_profiles, workflow.profiles)
    sites.select(state, base_profiles)
    timed("sites")
    cluster.cluster(state)
    timed("cluster")
    order = staging.make_nodes(state)
    timed("nodes")
    res = staging.stage(state, order)
    staging.stage_out(state, order, res)
    staging.stage_out_deleted(state, deleted)
    timed("staging")
    cleanup.add(state, order, res)
    timed("cleanup")
    _sub_workflows(state, order, props, transformation_catalogs, site_catalogs)
    timed("sub_workflows")
    dagman.assign(state, order)
    timed("dagman")
    codegen.generate(state, order, res)
    timed("codegen")

    data_configs = sorted({t.data_config for t in order if t.is_compute}) or ["condorio"]
    ew.data_configuration = data_configs[0]
    ew.cache = [
        f'{lfn} {sites.scratch_area(state, site).get(lfn)} site="{site}"'
        for (site, lfn) in res.placed
    ]
    for name, path in options.sources.items():
        ew.catalog_files[name] = path
    ew.job_attrs = {"pegasus_wf_uuid": f'"{wf_uuid}"', "pegasus_root_wf_uuid": f'"{ew.root_uuid}"'}
    ew.braindump = braindump.build(
        wf_uuid=wf_uuid,
        root_uuid=ew.root_uuid,
        label=ew.label,
        index=ew.index,
        dax_version=workflow.pegasus,
        dax=options.workflow_file or "",
        submit_dir=str(options.submit_dir),
        timestamp=timestamp,
        planner_arguments=options.planner_args,
        data_configuration=ew.data_configuration,
        dag_file=ew.dag_file,
        prefix=ew.prefix,
        extra={"wf_api": workflow.api_lang or "yaml"},
    )
    duration = time.perf_counter() - t0
    ew.metrics = _metrics(ew, workflow, n_tasks, len(deleted), started, duration, options)
    ew.metrics["aerie_pass_seconds"] = timings
    # Tasks link to each other both ways; with the collector paused those cycles would outlive
    # the plan. Breaking them lets reference counting free the planning state right here.
    for t in [*order, *deleted]:
        t.parents = {}
        t.children = {}
        t.node = None
        t.members = None
    state.tasks.clear()
    return ew


def _metrics(
    ew: ExecutableWorkflow,
    workflow: Workflow,
    n_tasks: int,
    n_deleted: int,
    started: float,
    duration: float,
    options: PlanOptions,
) -> dict[str, object]:
    counts = ew.counts()
    compute_tasks = sum(1 for j in workflow.jobs if j.type == "job")
    inputs: set[str] = set()
    outputs: set[str] = set()
    for j in workflow.jobs:
        for u in j.uses:
            (outputs if u.is_output else inputs).add(u.lfn)
    clustered = sum(
        1 for n in ew.nodes.values() if n.type is JobType.COMPUTE and n.cluster_size > 1
    )
    return {
        "client": "aerie-plan",
        "version": braindump.PLANNER_VERSION,
        "wf_api": workflow.api_lang or "yaml",
        "type": "metrics",
        "start_time": started,
        "end_time": started + duration,
        "duration": round(duration, 3),
        "exitcode": 0,
        "root_wf_uuid": ew.root_uuid,
        "wf_uuid": ew.wf_uuid,
        "data_config": ew.data_configuration,
        "planner_args": options.planner_args,
        "uses_pmc": False,
        "wf_metrics": {
            "compute_tasks": compute_tasks,
            "dax_tasks": sum(1 for j in workflow.jobs if j.type == "pegasusWorkflow"),
            "dag_tasks": sum(1 for j in workflow.jobs if j.type == "condorWorkflow"),
            "total_tasks": n_tasks,
            "deleted_tasks": n_deleted,
            "dax_input_files": len(inputs - outputs),
            "dax_inter_files": len(inputs & outputs),
            "dax_output_files": len(outputs - inputs),
            "dax_total_files": len(inputs | outputs),
            "compute_jobs": counts.get("compute", 0) - clustered,
            "clustered_jobs": clustered,
            "si_tx_jobs": counts.get("stage-in-tx", 0),
            "so_tx_jobs": counts.get("stage-out-tx", 0),
            "inter_tx_jobs": counts.get("inter-site-tx", 0),
            "reg_jobs": counts.get("registration", 0),
            "cleanup_jobs": counts.get("cleanup", 0),
            "create_dir_jobs": counts.get("create-dir", 0),
            "dax_jobs": counts.get("dax", 0),
            "dag_jobs": counts.get("dag", 0),
            "chmod_jobs": 0,
            "total_jobs": len(ew.nodes),
        },
        "app_metrics": {"name": ew.label},
    }


# ---------------------------------------------------------------------- sub-workflows


_SUB_OPTS_WITH_VALUE = {
    "--sites": "sites",
    "-s": "sites",
    "--output-sites": "output_sites",
    "--output-site": "output_sites",
    "-o": "output_sites",
    "--staging-site": "staging",
    "--cleanup": "cleanup",
    "--cluster": "cluster",
    "-C": "cluster",
    "--basename": "basename",
    "-b": "basename",
    "--conf": "conf",
    "-c": "cache",
    "--cache": "cache",
}
_SUB_FLAGS = {"--force", "-f", "-v", "--verbose", "-q", "--quiet", "--submit"}


def _sub_arguments(task: Task) -> dict[str, str | bool]:
    """The pegasus-plan arguments of a ``pegasusWorkflow`` job that we honour."""
    args = list(task.job.arguments)
    out: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        key, eq, inline = arg.partition("=")
        if key in _SUB_OPTS_WITH_VALUE:
            if eq:
                value = inline
            else:
                i += 1
                if i >= len(args):
                    raise fail(f"jobs[{task.id}].arguments", f"option {arg} needs a value")
                value = args[i]
            out[_SUB_OPTS_WITH_VALUE[key]] = value
        elif arg in ("--force", "-f"):
            out["force"] = True
        elif arg in _SUB_FLAGS or arg.startswith("-D") or arg.startswith("-v"):
            pass
        else:
            raise fail(
                f"jobs[{task.id}].arguments",
                f"unsupported pegasus-plan argument {arg!r} for a sub-workflow",
            )
        i += 1
    return out


def _sub_workflows(
    state: PlanState,
    order: list[Task],
    props: dict[str, str],
    transformation_catalogs: Sequence[TransformationCatalog],
    site_catalogs: Sequence[SiteCatalog],
) -> None:
    from planner.loader import load_workflow

    parent_opts = state.options
    ew = state.wf
    for t in order:
        job = t.job
        node = t.node
        if node is None:
            continue
        if isinstance(job, CondorWorkflowJob):
            pfns, _ = state.catalogs.replica(job.file)
            local = [p.pfn for p in pfns if p.site == "local"] or [p.pfn for p in pfns]
            if not local:
                raise fail(
                    f"jobs[{t.id}].file",
                    f"DAG file {job.file!r} of a condorWorkflow job is not in the replica catalog",
                    code="missing-input",
                )
            path = Path(staging.as_url(local[0])[len("file://") :])
            node.subdag = SubDag(dag_file=path.name, dir=str(path.parent))
            continue
        if not isinstance(job, PegasusWorkflowJob):
            continue
        pfns, _ = state.catalogs.replica(job.file)
        files = [p.pfn for p in pfns if p.site == "local"] or [p.pfn for p in pfns]
        paths = [
            Path(staging.as_url(f)[len("file://") :])
            for f in files
            if "://" not in f or f.startswith("file://")
        ]
        if not paths:
            raise fail(
                f"jobs[{t.id}].file",
                f"sub-workflow file {job.file!r} must be in the replica catalog as a local file "
                f"(sub-workflows produced while the workflow runs are not supported yet)",
                code="missing-input",
            )
        inner = load_workflow(paths[0])
        args = _sub_arguments(t)
        sub_name = f"{inner.name}_{job.id}"
        sub_rel_dir = f"{node.dir}/{sub_name}.000"
        area = sites.scratch_area(state, t.staging_site)
        extra: dict[str, list[Pfn]] = {}
        for u in t.inputs:
            extra[u.lfn] = [Pfn(site=t.staging_site, pfn=area.get(u.lfn))]
        for lfn, pfns_ in parent_opts.extra_replicas.items():
            extra.setdefault(lfn, list(pfns_))
        output_map = {u.lfn: area.put(u.lfn) for u in t.outputs}
        rel = parent_opts.relative_dir or parent_opts.submit_dir.name
        cleanup_choice = str(args.get("cleanup", "none"))
        sub_opts = PlanOptions(
            submit_dir=parent_opts.submit_dir / sub_rel_dir,
            sites=str(args["sites"]).split(",") if "sites" in args else parent_opts.sites,
            output_sites=(
                str(args["output_sites"]).split(",")
                if "output_sites" in args
                else list(parent_opts.output_sites)
            ),
            staging_sites=(
                parse_staging_sites([str(args["staging"])])
                if "staging" in args
                else dict(parent_opts.staging_sites)
            ),
            cleanup=cleanup_choice,
            cluster=str(args["cluster"]).split(",") if "cluster" in args else [],
            force=bool(args.get("force", parent_opts.force)),
            relative_dir=f"{rel}/{node.dir}/{sub_name}",
            root_uuid=ew.root_uuid,
            seed=parent_opts.seed,
            workflow_file=str(paths[0]),
            output_map=output_map,
            extra_replicas=extra,
            local_base=parent_opts.local_base or parent_opts.submit_dir.parent,
            wrapper=ew.wrapper,
        )
        # the parent's catalogs (inline replica catalog first) are inherited one level down
        inner_rcs = list(state.catalogs.replicas)
        sub = plan(
            inner,
            options=sub_opts,
            replica_catalogs=inner_rcs,
            transformation_catalogs=transformation_catalogs,
            site_catalogs=site_catalogs,
            properties=props,
        )
        node.subdag = SubDag(dag_file=sub.dag_file, dir=sub_rel_dir, workflow=sub)
