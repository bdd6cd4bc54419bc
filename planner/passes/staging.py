"""Data staging: create-dir, stage-in, inter-site, stage-out and registration jobs (SPEC §2.4-5).

Where files live, per data configuration:

- ``condorio``: the staging site is ``local``; stage-in jobs copy raw inputs from their replica
  catalog URLs into the workflow's scratch directory there, HTCondor file transfer carries them
  to the job (``transfer_input_files`` relative to ``initialdir`` = that directory) and carries
  outputs back, and stage-out jobs copy outputs on to the output site's storage.
- ``nonsharedfs``: the staging site is ``--staging-site`` (else the execution site); the job
  wrapper pulls inputs from and pushes outputs to the staging site's URLs itself.
- ``sharedfs``: the execution site's shared scratch is both staging and working directory.

Transfer jobs are bundled like Pegasus's BalancedCluster refiner: per level and staging site,
``ceil(jobs at that level / 10)`` stage-in (and stage-out) jobs, files dealt round-robin; a file
already placed on a staging site is never staged twice, the consumer just gets an edge to the
job that placed it. Every auxiliary job runs on the submit host (``local`` universe).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass, field

from planner import naming
from planner.dag import JobType, Node
from planner.passes.errors import fail
from planner.passes.graph import topological
from planner.passes.sites import scratch_area, storage_area
from planner.passes.state import PlanState, Task
from planner.spec import CondorWorkflowJob, Job, PegasusWorkflowJob, Pfn

STAGE_IN_PRIORITY = 700
INTER_SITE_PRIORITY = 700
CREATE_DIR_PRIORITY = 800
STAGE_OUT_PRIORITY = 900
CLEANUP_PRIORITY = 1000


def as_url(pfn: str) -> str:
    """Replica-catalog PFNs may be plain paths; transfer lists want URLs."""
    return pfn if "://" in pfn else f"file://{pfn}"


def _is_file_url(url: str) -> bool:
    return url.startswith("file://") or "://" not in url


@dataclass(slots=True)
class InputPlan:
    """How one compute job gets one input."""

    lfn: str
    sha256: str | None = None
    urls: list[str] = field(default_factory=list)  # pulled by the wrapper (bypass/nonsharedfs)
    via_condor: bool = False  # shipped by HTCondor from initialdir (condorio)
    executable: bool = False


@dataclass(slots=True)
class Placement:
    """A file's location on a staging site and the node that put it there."""

    node: str
    lfn: str


@dataclass(slots=True)
class StagingResult:
    inputs: dict[Task, list[InputPlan]] = field(default_factory=dict)
    # (staging site, lfn) → name of the node that put the file there
    placed: dict[tuple[str, str], str] = field(default_factory=dict)
    # (staging site, lfn) → names of nodes that read it there
    readers: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    # consumer → transfer nodes whose .meta it receives (an ordered set)
    meta_parents: dict[Task, dict[str, None]] = field(default_factory=lambda: defaultdict(dict))
    create_dir: dict[str, str] = field(default_factory=dict)
    executable: dict[Task, str] = field(default_factory=dict)
    image_lfn: dict[Task, str] = field(default_factory=dict)


def _profile_int(state: PlanState, task: Task | None, key: str) -> int | None:
    """``stagein.clusters`` and friends: the staging site's profile, then properties."""
    if task is not None:
        site = state.catalogs.site(task.staging_site)
        value = site.profiles.pegasus.get(key)
        if value is not None:
            return max(1, int(value))
    prop = state.properties.get(f"pegasus.{key}")
    return max(1, int(prop)) if prop else None


def make_nodes(state: PlanState) -> list[Task]:
    """One node per remaining task, named the Pegasus way, in topological order."""
    wf = state.wf
    order = topological(list(state.tasks.values()))
    for t in order:
        job = t.job
        if t.members is not None:
            node_type = JobType.COMPUTE
            name = t.id
        elif isinstance(job, Job):
            node_type = JobType.COMPUTE
            name = naming.compute(job.name, job.id)
        elif isinstance(job, PegasusWorkflowJob):
            node_type = JobType.DAX
            name = naming.sub_workflow(job.id)
        else:
            node_type = JobType.DAG
            name = naming.sub_dag(job.id)
        tx = ""
        if t.transformation is not None:
            tx = t.transformation.key
        elif isinstance(job, PegasusWorkflowJob):
            tx = "pegasus::pegasus-plan"
        elif isinstance(job, CondorWorkflowJob):
            tx = "condor::dagman"
        t.node = wf.add(
            Node(
                name=name,
                type=node_type,
                site=t.site,
                dir=state.dirs.next(),
                job_id=t.id,
                transformation=tx,
                level=t.level,
                cluster_size=len(t.members) if t.members else 1,
            )
        )
    children = wf.children
    for t in order:
        if t.children:
            assert t.node is not None
            kids = children.setdefault(t.node.name, {})
            for c in t.children:
                assert c.node is not None
                kids[c.node.name] = None
    return order


def _aux(state: PlanState, name: str, type_: JobType, tx: str, priority: int) -> Node:
    return state.wf.add(
        Node(
            name=name,
            type=type_,
            site="local",
            dir=state.dirs.next(),
            transformation=tx,
            priority=priority,
            payload=[],
        )
    )


def _transfer_entry(
    entry_id: int, linkage: str, lfn: str, src: tuple[str, str], dst: tuple[str, str]
) -> dict[str, object]:
    entry: dict[str, object] = {
        "type": "transfer",
        "linkage": linkage,
        "lfn": lfn,
        "id": entry_id,
    }
    if linkage == "input":
        entry["generate_checksum"] = True
    else:
        entry["verify_checksum_remote"] = True
    entry["src_urls"] = [{"site_label": src[0], "url": src[1]}]
    entry["dest_urls"] = [{"site_label": dst[0], "url": dst[1]}]
    return entry


def _choose_pfn(pfns: list[Pfn], prefer_site: str) -> Pfn:
    """Pegasus's Default replica selector, for transfers that run on the submit host: a file
    URL on ``local`` first, then one on the preferred site, then any non-file URL."""
    for p in pfns:
        if p.site == "local" and _is_file_url(p.pfn):
            return p
    for p in pfns:
        if p.site == prefer_site:
            return p
    for p in pfns:
        if not _is_file_url(p.pfn):
            return p
    return pfns[0]


def _bypassable(state: PlanState, task: Task, pfn: Pfn) -> bool:
    if not _is_file_url(pfn.pfn):
        return True
    if pfn.site == task.site:
        return True
    aux_local = state.catalogs.site(task.site).profiles.pegasus.get("auxillary.local", "false")
    return pfn.site == "local" and aux_local.lower() == "true"


def stage(state: PlanState, order: list[Task]) -> StagingResult:
    """Add create-dir, stage-in and inter-site jobs; decide how each job gets each input."""
    wf = state.wf
    res = StagingResult()
    producers: dict[str, Task] = {}
    for t in order:
        for u in t.outputs:
            producers.setdefault(u.lfn, t)
    bypass_all = state.prop("pegasus.transfer.bypass.input.staging", "false").lower() == "true"

    # create-dir: one per staging site in use
    sites_used: list[str] = []
    for t in order:
        if t.staging_site not in sites_used:
            sites_used.append(t.staging_site)
    for site in sites_used:
        node = _aux(
            state,
            naming.create_dir(wf.label, wf.index, site),
            JobType.CREATE_DIR,
            "pegasus::dirmanager",
            CREATE_DIR_PRIORITY,
        )
        area = scratch_area(state, site)
        node.payload = [
            {"id": 1, "type": "mkdir", "target": {"site_label": site, "url": area.put_url}}
        ]
        res.create_dir[site] = node.name
    for t in order:
        assert t.node is not None
        if not any(p.staging_site == t.staging_site for p in t.parents):
            wf.add_edge(res.create_dir[t.staging_site], t.node.name)

    # decide sources; collect stage-in requests per (staging site, level)
    pending: dict[tuple[str, int], list[tuple[Task, str, str, str, bool]]] = defaultdict(list)
    level_tasks: dict[tuple[str, int], dict[Task, None]] = defaultdict(dict)
    wanted: dict[tuple[str, str], list[Task]] = defaultdict(list)
    inter: list[tuple[Task, Task, str]] = []
    rc_cache: dict[str, tuple[list[Pfn], str | None]] = {}

    def replica(lfn: str) -> tuple[list[Pfn], str | None]:
        hit = rc_cache.get(lfn)
        if hit is None:
            hit = rc_cache[lfn] = state.catalogs.replica(lfn)
        return hit

    produced_plans: dict[str, InputPlan] = {}  # one shared (read-only) plan per produced file
    staged_plans: dict[tuple[str, str | None, bool], InputPlan] = {}
    readers = res.readers
    for t in order:
        plans: list[InputPlan] = []
        res.inputs[t] = plans
        staged_lfns: list[tuple[str, str, str | None, bool, str]] = []
        assert t.node is not None
        tname = t.node.name
        tsite = t.staging_site
        for u in t.inputs:
            lfn = u.lfn
            if u.for_planning and not t.is_compute:
                continue  # a sub-workflow's own file is read by the planner, not shipped
            src = producers.get(lfn)
            if src is not None and src is not t:
                plan = produced_plans.get(lfn)
                if plan is None:
                    plan = produced_plans[lfn] = InputPlan(lfn=lfn, via_condor=True)
                plans.append(plan)
                if src.staging_site != tsite:
                    inter.append((src, t, lfn))
                else:
                    readers[(tsite, lfn)].append(tname)
                continue
            pfns, sha = replica(u.lfn)
            if not pfns:
                if u.optional or u.type == "inout":
                    continue
                raise fail(
                    f"jobs[{t.id}].uses[{u.lfn}]",
                    f"input file {u.lfn!r} is not in the replica catalog and no job produces it",
                    code="missing-input",
                )
            bypass = (u.bypass or bypass_all) and t.is_compute and t.data_config != "sharedfs"
            if bypass:
                choice = next((p for p in pfns if _bypassable(state, t, p)), None)
                if choice is not None and not (
                    t.data_config == "condorio"
                    and os.path.basename(choice.pfn.rstrip("/")) != u.lfn
                    and _is_file_url(choice.pfn)
                ):
                    plans.append(InputPlan(lfn=u.lfn, sha256=sha, urls=[as_url(choice.pfn)]))
                    continue
            choice = _choose_pfn(pfns, t.site)
            staged_lfns.append((u.lfn, as_url(choice.pfn), sha, u.executable, choice.site))
        # stageable executable and container image travel like inputs
        entry = t.tx_site
        if entry is not None and entry.type == "stageable" and t.members is None:
            tx = t.transformation
            assert tx is not None
            exe_lfn = "-".join(p for p in (tx.namespace, tx.name, tx.version) if p)
            res.executable[t] = exe_lfn
            staged_lfns.append((exe_lfn, as_url(entry.pfn), None, True, entry.name))
        elif t.members is not None:
            for m in t.members:
                me = m.tx_site
                if me is not None and me.type == "stageable" and m.transformation is not None:
                    mtx = m.transformation
                    exe_lfn = "-".join(p for p in (mtx.namespace, mtx.name, mtx.version) if p)
                    res.executable[m] = exe_lfn
                    if all(s[0] != exe_lfn for s in staged_lfns):
                        staged_lfns.append((exe_lfn, as_url(me.pfn), None, True, me.name))
        cont = t.container
        if cont is not None and cont.image.split("://")[0] not in ("docker", "shub", "library"):
            res.image_lfn[t] = cont.name
            staged_lfns.append(
                (cont.name, as_url(cont.image), None, False, cont.image_site or "local")
            )
        for lfn, url, sha, is_exe, src_site in staged_lfns:
            key = (t.staging_site, lfn)
            skey = (lfn, sha, is_exe)
            plan = staged_plans.get(skey)
            if plan is None:
                plan = staged_plans[skey] = InputPlan(
                    lfn=lfn, sha256=sha, via_condor=True, executable=is_exe
                )
            plans.append(plan)
            wanted[key].append(t)
            if len(wanted[key]) == 1:
                pending[(t.staging_site, t.level)].append((t, lfn, url, src_site, is_exe))
                level_tasks[(t.staging_site, t.level)][t] = None

    # stage-in jobs, BalancedCluster style
    for (site, level), reqs in pending.items():
        first = reqs[0][0]
        k = _profile_int(state, first, "stagein.clusters") or math.ceil(
            len(level_tasks[(site, level)]) / 10
        )
        k = max(1, min(k, len(reqs)))
        area = scratch_area(state, site)
        nodes = [
            _aux(
                state,
                naming.stage_in(True, site, level, i),
                JobType.STAGE_IN,
                "pegasus::transfer",
                STAGE_IN_PRIORITY,
            )
            for i in range(k)
        ]
        for node in nodes:
            node.category = "stagein"
            node.level = level
            wf.add_edge(res.create_dir[site], node.name)
        for i, (_t, lfn, url, src_site, _exe) in enumerate(reqs):
            node = nodes[i % k]
            node.payload.append(
                _transfer_entry(
                    len(node.payload) + 1, "input", lfn, (src_site, url), (site, area.put(lfn))
                )
            )
            res.placed[(site, lfn)] = node.name
    for (site, lfn), consumers in wanted.items():
        placer = res.placed[(site, lfn)]
        for t in consumers:
            assert t.node is not None
            wf.add_edge(placer, t.node.name)
            res.readers[(site, lfn)].append(t.node.name)
            res.meta_parents[t][placer] = None

    # files produced by jobs are placed on their producer's staging site
    for t in order:
        assert t.node is not None
        for u in t.outputs:
            res.placed.setdefault((t.staging_site, u.lfn), t.node.name)

    # inter-site transfers: producer's staging site → consumer's staging site
    counters: dict[str, int] = defaultdict(int)
    inter_done: dict[tuple[str, str], str] = {}
    for src, t, lfn in inter:
        assert t.node is not None and src.node is not None
        key = (t.staging_site, lfn)
        name = inter_done.get(key)
        if name is None:
            name = naming.inter_site(True, t.node.name, counters[t.node.name])
            counters[t.node.name] += 1
            node = _aux(state, name, JobType.INTER_SITE, "pegasus::transfer", INTER_SITE_PRIORITY)
            node.category = "stagein"
            from_area = scratch_area(state, src.staging_site)
            to_area = scratch_area(state, t.staging_site)
            node.payload.append(
                _transfer_entry(
                    1,
                    "input",
                    lfn,
                    (src.staging_site, from_area.get(lfn)),
                    (t.staging_site, to_area.put(lfn)),
                )
            )
            wf.add_edge(src.node.name, name)
            wf.add_edge(res.create_dir[t.staging_site], name)
            res.readers[(src.staging_site, lfn)].append(name)
            res.placed[key] = name
            inter_done[key] = name
        wf.add_edge(name, t.node.name)
        res.readers[key].append(t.node.name)
        res.meta_parents[t][name] = None
    return res


def stage_out(state: PlanState, order: list[Task], res: StagingResult) -> None:
    """Stage-out jobs to every output site, and a registration job per stage-out job."""
    wf = state.wf
    output_sites = state.options.output_sites
    output_map = state.options.output_map
    if not output_sites and not output_map:
        return
    register = state.prop("pegasus.register", "true").lower() != "false"
    pending: dict[tuple[str, int], list[tuple[Task, str, bool]]] = defaultdict(list)
    level_tasks: dict[tuple[str, int], dict[Task, None]] = defaultdict(dict)
    seen: set[str] = set()
    for t in order:
        for u in t.outputs:
            if not u.stage_out and u.lfn not in output_map:
                continue
            if u.lfn in seen:
                continue
            seen.add(u.lfn)
            pending[(t.staging_site, t.level)].append((t, u.lfn, u.register_replica))
            level_tasks[(t.staging_site, t.level)][t] = None
    for (site, level), reqs in pending.items():
        first = reqs[0][0]
        k = _profile_int(state, first, "stageout.clusters") or math.ceil(
            len(level_tasks[(site, level)]) / 10
        )
        k = max(1, min(k, len(reqs)))
        area = scratch_area(state, site)
        nodes = []
        regs: list[Node | None] = []
        for i in range(k):
            node = _aux(
                state,
                naming.stage_out(True, site, level, i),
                JobType.STAGE_OUT,
                "pegasus::transfer",
                STAGE_OUT_PRIORITY,
            )
            node.category = "stageout"
            node.level = level
            nodes.append(node)
            regs.append(None)
        for i, (t, lfn, reg) in enumerate(reqs):
            assert t.node is not None
            idx = i % k
            node = nodes[idx]
            wf.add_edge(t.node.name, node.name)
            res.readers[(site, lfn)].append(node.name)
            if lfn in output_map:
                dests = [("local", output_map[lfn])]
            else:
                dests = [(o, storage_area(state, o).put(lfn)) for o in output_sites]
            for dsite, durl in dests:
                node.payload.append(
                    _transfer_entry(
                        len(node.payload) + 1, "output", lfn, (site, area.get(lfn)), (dsite, durl)
                    )
                )
            if reg and register and lfn not in output_map:
                rnode = regs[idx]
                if rnode is None:
                    rnode = _aux(
                        state,
                        naming.registration(site, level, idx),
                        JobType.REGISTRATION,
                        "pegasus::rc-client",
                        0,
                    )
                    rnode.category = "registration"
                    rnode.level = level
                    regs[idx] = rnode
                    wf.add_edge(node.name, rnode.name)
                for dsite, durl in dests:
                    rnode.payload.append(f'{lfn} {durl} site="{dsite}"')


DELETED_JOBS_LEVEL = 1000


def stage_out_deleted(state: PlanState, deleted: list[Task]) -> None:
    """Outputs of jobs removed by data reuse still reach the output sites (SPEC §2.2): Pegasus
    copies the existing replicas with stage-out jobs at level 1000; a replica already at the
    destination is left alone."""
    output_sites = state.options.output_sites
    if not output_sites or not deleted:
        return
    copies: list[tuple[str, Pfn, str, str]] = []
    seen: set[str] = set()
    for t in deleted:
        for u in t.outputs:
            if not u.stage_out or u.lfn in seen:
                continue
            seen.add(u.lfn)
            pfns, _ = state.catalogs.replica(u.lfn)
            if not pfns:
                continue
            for site in output_sites:
                dest = storage_area(state, site).put(u.lfn)
                if any(as_url(p.pfn) == dest for p in pfns):
                    continue
                copies.append((u.lfn, _choose_pfn(pfns, site), site, dest))
    if not copies:
        return
    k = max(1, min(math.ceil(len({c[0] for c in copies}) / 10), len(copies)))
    nodes = []
    for i in range(k):
        node = _aux(
            state,
            naming.stage_out(True, "local", DELETED_JOBS_LEVEL, i),
            JobType.STAGE_OUT,
            "pegasus::transfer",
            STAGE_OUT_PRIORITY,
        )
        node.category = "stageout"
        node.level = DELETED_JOBS_LEVEL
        nodes.append(node)
    for i, (lfn, src, site, dest) in enumerate(copies):
        node = nodes[i % k]
        node.payload.append(
            _transfer_entry(
                len(node.payload) + 1, "output", lfn, (src.site, as_url(src.pfn)), (site, dest)
            )
        )
