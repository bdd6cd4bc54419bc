"""The job graph of an abstract workflow: declared plus file-inferred edges, cycles, order, levels.

Jobs are numbered in document order and edges are kept as integer adjacency lists, so building
and walking the graph of a 100k-job workflow is linear and allocation-light (no per-edge objects).

Edges come from `jobDependencies` and, unless switched off
(`pegasus.parser.dax.data.dependencies=false`), from files, as Pegasus and `Pegasus.api` infer
them: the job that has an LFN as `output` becomes a parent of every job that reads it
(`input` or `inout`). Beyond Pegasus's rule:

- A file that no job has as `output` but some job updates as `inout` gets edges from those
  updaters to its plain readers (`input`). Jobs that all update the same file in place get no
  edges among themselves: their order is the user's to declare.
- `checkpoint` files are private to their job and create no edges.

A job's *level* is the longest distance from a root, starting at 0 for roots (Pegasus's
clustering and transfer-bundling level, SPEC.md §2.5–2.6).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from planner.errors import PlanningError, Problem
from planner.loader import gc_paused
from planner.spec import Workflow

__all__ = ["Graph", "build_graph"]


@dataclass
class Graph:
    """Jobs `0..n-1` (document order) with parent/child adjacency lists of job numbers.

    Built by `build_graph`; ids that appear twice in the document keep their first job, and
    dependencies on unknown ids are left out (`planner.checks` reports both).
    """

    ids: list[str]
    index: dict[str, int]
    parents: list[list[int]]
    children: list[list[int]]
    declared_edges: int = 0
    inferred_edges: int = 0
    self_loops: list[int] = field(default_factory=list)
    """Jobs declared as their own child (a cycle of one)."""
    _order: list[int] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_edges(self) -> int:
        return sum(len(c) for c in self.children)

    def edges(self) -> Iterator[tuple[str, str]]:
        """Every edge as `(parent id, child id)`, parents in document order."""
        ids = self.ids
        for p, cs in enumerate(self.children):
            for c in cs:
                yield ids[p], ids[c]

    def roots(self) -> list[int]:
        return [i for i, ps in enumerate(self.parents) if not ps]

    def leaves(self) -> list[int]:
        return [i for i, cs in enumerate(self.children) if not cs]

    def find_cycle(self) -> list[str] | None:
        """One cycle as job ids, first id repeated at the end (`a -> b -> a`), or None."""
        if self.self_loops:
            first = self.ids[min(self.self_loops)]
            return [first, first]
        remaining = self._kahn()[1]
        if not remaining:
            return None
        alive = set(remaining)
        # Every job left over by Kahn's algorithm has a parent that is also left over, so
        # walking parents from any of them must come back to a job already seen.
        node = remaining[0]
        seen: dict[int, int] = {}
        path: list[int] = []
        while node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = next(p for p in self.parents[node] if p in alive)
        cycle = path[seen[node] :]
        cycle.reverse()  # we walked child → parent; report parent → child
        k = cycle.index(min(cycle))  # start at the job that comes first in the document
        cycle = cycle[k:] + cycle[:k]
        return [self.ids[i] for i in [*cycle, cycle[0]]]

    def _kahn(self) -> tuple[list[int], list[int]]:
        """(topological order, jobs left over because they sit on or after a cycle)."""
        n = len(self.ids)
        indeg = [len(ps) for ps in self.parents]
        ready = [i for i in range(n) if indeg[i] == 0]  # sorted, so already a heap
        order: list[int] = []
        children = self.children
        pop, push = heapq.heappop, heapq.heappush
        while ready:  # always the ready job that comes first in the document
            i = pop(ready)
            order.append(i)
            for c in children[i]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    push(ready, c)
        if len(order) == n:
            return order, []
        done = set(order)
        return order, [i for i in range(n) if i not in done]

    def topological_order(self) -> list[int]:
        """Job numbers, parents before children, ties in document order; raises
        `PlanningError` naming a cycle."""
        if self._order is None:
            order, remaining = self._kahn()
            if remaining or self.self_loops:
                cycle = self.find_cycle() or []
                raise PlanningError([cycle_problem(cycle, self.index)])
            self._order = order
        return self._order

    def levels(self) -> list[int]:
        """Per job number, the longest distance from a root (roots are level 0)."""
        level = [0] * len(self.ids)
        children = self.children
        for i in self.topological_order():
            nxt = level[i] + 1
            for c in children[i]:
                if level[c] < nxt:
                    level[c] = nxt
        return level


def cycle_problem(cycle: Sequence[str], index: dict[str, int], file: str | None = None) -> Problem:
    first = index.get(cycle[0], 0) if cycle else 0
    return Problem(
        file,
        None,
        f"jobs[{first}]",
        "the workflow has a cycle: " + " -> ".join(cycle),
        "cycle",
    )


def build_graph(workflow: Workflow, *, infer_data_edges: bool = True) -> Graph:
    """The job graph of `workflow` (see the module docstring for which edges it has)."""
    with gc_paused():
        return _build(workflow, infer_data_edges)


def _build(workflow: Workflow, infer_data_edges: bool) -> Graph:
    jobs = workflow.jobs
    index: dict[str, int] = {}
    ids: list[str] = []
    for job in jobs:
        if job.id not in index:
            index[job.id] = len(ids)
        ids.append(job.id)
    n = len(ids)
    # one parent set per job, filled lazily: dedupes edges without a call per edge
    parent_sets: list[set[int] | None] = [None] * n
    self_loops: list[int] = []
    for dep in workflow.job_dependencies:
        p = index.get(dep.id)
        if p is None:
            continue
        for cid in dep.children:
            c = index.get(cid)
            if c is None:
                continue
            if c == p:
                self_loops.append(p)
                continue
            ps = parent_sets[c]
            if ps is None:
                ps = parent_sets[c] = set()
            ps.add(p)
    declared = sum(len(ps) for ps in parent_sets if ps)

    if infer_data_edges:
        producer: dict[str, list[int]] = {}
        updater: dict[str, list[int]] = {}
        for j, job in enumerate(jobs):
            for u in job.uses:
                t = u.type
                if t == "output":
                    producer.setdefault(u.lfn, []).append(j)
                elif t == "inout":
                    updater.setdefault(u.lfn, []).append(j)
        for j, job in enumerate(jobs):
            ps = parent_sets[j]
            for u in job.uses:
                t = u.type
                if t == "input":
                    srcs = producer.get(u.lfn) or updater.get(u.lfn)
                elif t == "inout":
                    srcs = producer.get(u.lfn)
                else:
                    continue
                if srcs:
                    if ps is None:
                        ps = parent_sets[j] = set()
                    ps.update(srcs)
            if ps is not None:
                ps.discard(j)  # a job's own outputs are not its parents

    parents: list[list[int]] = [sorted(ps) if ps else [] for ps in parent_sets]
    children: list[list[int]] = [[] for _ in range(n)]
    total = 0
    for c, ps_list in enumerate(parents):
        total += len(ps_list)
        for p in ps_list:
            children[p].append(c)
    return Graph(ids, index, parents, children, declared, total - declared, self_loops)
