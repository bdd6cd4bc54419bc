"""Cleanup jobs (SPEC §2.1 step 8): remove files from staging directories once nobody needs them.

- ``inplace`` (default): each file on a staging site is removed by a cleanup job that runs after
  every node touching it there (the node that put it there, every reader, the stage-out job).
  Files are grouped by the deepest level that uses them, about one cleanup job per five jobs of
  that level (``pegasus.file.cleanup.clusters.num`` overrides), named
  ``clean_up_<site>_level_<L>_<i>``.
- ``leaf``: one job per staging site removes the whole workflow directory after every other
  node (except registration, which does not need it).
- ``none``: nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict

from planner import naming
from planner.dag import JobType, Node
from planner.passes.errors import fail
from planner.passes.sites import scratch_area
from planner.passes.staging import CLEANUP_PRIORITY, StagingResult
from planner.passes.state import PlanState, Task

STRATEGIES = ("none", "leaf", "inplace")


def add(state: PlanState, order: list[Task], res: StagingResult) -> None:
    strategy = state.options.cleanup
    if strategy not in STRATEGIES:
        raise fail(
            "--cleanup", f"unknown cleanup strategy {strategy!r} (use none, leaf or inplace)"
        )
    if strategy == "none":
        return
    if strategy == "leaf":
        _leaf(state)
    else:
        _inplace(state, order, res)


def _new(state: PlanState, name: str) -> Node:
    return state.wf.add(
        Node(
            name=name,
            type=JobType.CLEANUP,
            site="local",
            dir=state.dirs.next(),
            transformation="pegasus::cleanup",
            priority=CLEANUP_PRIORITY,
            payload=[],
        )
    )


def _leaf(state: PlanState) -> None:
    wf = state.wf
    sites = list(state.scratch)
    registration = {n for n, node in wf.nodes.items() if node.type is JobType.REGISTRATION}
    ends = [
        name
        for name in wf.nodes
        if name not in registration and all(c in registration for c in wf.children.get(name, ()))
    ]
    for site in sites:
        area = scratch_area(state, site)
        node = _new(state, naming.cleanup_leaf(wf.label, wf.index, site))
        node.payload.append(
            {
                "id": 1,
                "type": "remove",
                "target": {"site_label": site, "url": area.put_url, "recursive": "True"},
            }
        )
        for name in ends:
            wf.add_edge(name, node.name)


def _inplace(state: PlanState, order: list[Task], res: StagingResult) -> None:
    wf = state.wf
    level_of = {name: node.level for name, node in wf.nodes.items()}
    jobs_at: dict[tuple[str, int], int] = defaultdict(int)
    for t in order:
        jobs_at[(t.staging_site, t.level)] += 1
    groups: dict[tuple[str, int], list[tuple[str, list[str]]]] = defaultdict(list)
    for (site, lfn), placer in res.placed.items():
        # every reader is a child of the node that placed the file, so when there are readers
        # the placer's edge to the cleanup job is implied (one edge per file saved)
        users = res.readers.get((site, lfn)) or [placer]
        level = max(level_of.get(u, 0) for u in users)
        groups[(site, level)].append((lfn, users))
    num = state.properties.get("pegasus.file.cleanup.clusters.num")
    for (site, level), files in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        k = int(num) if num else math.ceil(max(1, jobs_at.get((site, level), 1)) / 5)
        k = max(1, min(k, len(files)))
        area = scratch_area(state, site)
        nodes = [_new(state, naming.cleanup_inplace(site, level, i)) for i in range(k)]
        for node in nodes:
            node.category = "cleanup"
            node.level = level
        for i, (lfn, users) in enumerate(files):
            node = nodes[i % k]
            node.payload.append(
                {
                    "id": len(node.payload) + 1,
                    "type": "remove",
                    "target": {"site_label": site, "url": area.put(lfn), "recursive": "False"},
                }
            )
            for u in users:
                wf.add_edge(u, node.name)
