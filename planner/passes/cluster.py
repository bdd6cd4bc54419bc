"""Job clustering (SPEC §2.6): several compute jobs run as one DAG node, one after another.

- ``horizontal``: jobs of the same transformation, execution site and level are grouped;
  ``clusters.num = b`` makes exactly ``b`` clusters per group (sizes ``n // b``, the first
  ``n % b`` one larger), else ``clusters.size = s`` makes chunks of ``s`` (default 1: none).
- ``label``: jobs with the same value of the pegasus profile ``label`` (key set by
  ``pegasus.clusterer.label.key``) form one cluster, run in topological order.

A group of one is left alone. A clustered job's node is named
``merge_<transformation>_P<partition>_ID<n>`` and its ``.lite.json`` lists the tasks.
"""

from __future__ import annotations

from collections import defaultdict

from planner import naming
from planner.passes.errors import fail
from planner.passes.graph import assign_levels, link, topological
from planner.passes.state import PlanState, Task
from planner.spec import Job

STYLES = ("horizontal", "label")


def _chunks(members: list[Task], num: int | None, size: int | None) -> list[list[Task]]:
    n = len(members)
    if num is not None and num > 0:
        b = min(num, n)
        base, extra = divmod(n, b)
        out, start = [], 0
        for i in range(b):
            width = base + (1 if i < extra else 0)
            out.append(members[start : start + width])
            start += width
        return out
    s = size if size and size > 0 else 1
    return [members[i : i + s] for i in range(0, n, s)]


def _int_profile(task: Task, key: str) -> int | None:
    value = task.profiles.get("pegasus", {}).get(key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise fail(
            f"jobs[{task.id}].profiles.pegasus.{key}", f"expected an integer, got {value!r}"
        ) from None


def cluster(state: PlanState) -> None:
    for style in state.options.cluster:
        if style not in STYLES:
            raise fail("--cluster", f"unknown clustering {style!r} (use horizontal or label)")
        order = topological(list(state.tasks.values()))
        groups: dict[tuple[str, ...], list[Task]] = defaultdict(list)
        key_name = state.prop("pegasus.clusterer.label.key", "label")
        for t in order:
            if not isinstance(t.job, Job) or t.members is not None:
                continue
            if style == "horizontal":
                groups[
                    (t.transformation.key if t.transformation else "", t.site, str(t.level))
                ].append(t)
            else:
                label = t.profiles.get("pegasus", {}).get(key_name)
                if label:
                    groups[(label,)].append(t)
        clusters: list[tuple[str, str, int, list[Task]]] = []
        for key, members in groups.items():
            if len(members) < 2:
                continue
            if style == "horizontal":
                first = members[0]
                chunks = _chunks(
                    members,
                    _int_profile(first, "clusters.num"),
                    _int_profile(first, "clusters.size"),
                )
                tx_name = naming.safe(first.transformation.key if first.transformation else "")
                for i, chunk in enumerate(chunks, start=1):
                    if len(chunk) > 1:
                        clusters.append((tx_name, f"ID{first.level}", i, chunk))
            else:
                tx = members[0].transformation
                clusters.append((naming.safe(tx.key if tx else "label"), key[0], 1, members))
        if clusters:
            _apply(state, clusters)


def _apply(state: PlanState, clusters: list[tuple[str, str, int, list[Task]]]) -> None:
    rep: dict[Task, Task] = {}
    for tx_name, partition, index, members in clusters:
        lead = members[0]
        cid = naming.clustered(tx_name, partition, index)
        if cid in state.tasks:
            raise fail("--cluster", f"clustered job name {cid!r} clashes with a job id")
        sites = {m.site for m in members}
        if len(sites) > 1:
            raise fail(
                f"jobs[{lead.id}].profiles.pegasus.label",
                f"label cluster {partition!r} spans sites {', '.join(sorted(sites))}",
            )
        inside = set(members)
        produced = {u.lfn for m in members for u in m.outputs}
        merged = Task(job=lead.job, id=cid)
        merged.members = list(members)
        merged.site = lead.site
        merged.staging_site = lead.staging_site
        merged.data_config = lead.data_config
        merged.profiles = lead.profiles
        merged.transformation = lead.transformation
        merged.tx_site = lead.tx_site
        merged.container = lead.container
        seen_in: set[str] = set()
        for m in members:
            for u in m.inputs:
                if u.lfn not in produced and u.lfn not in seen_in:
                    seen_in.add(u.lfn)
                    merged.inputs.append(u)
        seen_out: set[str] = set()
        for m in members:
            for u in m.outputs:
                if u.lfn not in seen_out:
                    seen_out.add(u.lfn)
                    merged.outputs.append(u)
        for m in members:
            rep[m] = merged
        merged.level = lead.level
        del inside
    old = list(state.tasks.values())
    edges = [(p, c) for p in old for c in p.children]
    new_tasks: dict[str, Task] = {}
    for t in old:
        r = rep.get(t, t)
        if r.id not in new_tasks:
            new_tasks[r.id] = r
        t.parents = {}
        t.children = {}
    for p, c in edges:
        rp, rc = rep.get(p, p), rep.get(c, c)
        if rp is not rc:
            link(rp, rc)
    state.tasks = new_tasks
    assign_levels(list(new_tasks.values()))
