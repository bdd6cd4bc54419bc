"""Tasks and edges of the abstract workflow: declared dependencies plus data dependencies.

Pegasus adds an edge from the producer of every LFN to each job that reads it (unless
``pegasus.parser.dax.data.dependencies=false``), rejects cycles and gives every job a *level*:
the longest distance from a root, which clustering, transfer bundling and priorities use.
"""

from __future__ import annotations

from collections import deque

from planner.passes.errors import fail
from planner.passes.state import PlanState, Task
from planner.spec import Workflow


def build(state: PlanState, workflow: Workflow) -> None:
    tasks = state.tasks
    for i, job in enumerate(workflow.jobs):
        if job.id in tasks:
            raise fail(f"jobs[{i}].id", f"duplicate job id {job.id!r}")
        task = Task(job=job, id=job.id)
        task.inputs = [u for u in job.uses if u.type in ("input", "inout")]
        task.outputs = [u for u in job.uses if u.type in ("output", "inout", "checkpoint")]
        tasks[job.id] = task

    for i, dep in enumerate(workflow.job_dependencies):
        parent = tasks.get(dep.id)
        if parent is None:
            raise fail(f"jobDependencies[{i}].id", f"unknown job {dep.id!r}")
        for j, cid in enumerate(dep.children):
            child = tasks.get(cid)
            if child is None:
                raise fail(f"jobDependencies[{i}].children[{j}]", f"unknown job {cid!r}")
            link(parent, child)

    if state.prop("pegasus.parser.dax.data.dependencies", "true").lower() != "false":
        producer: dict[str, Task] = {}
        for task in tasks.values():
            for use in task.outputs:
                producer.setdefault(use.lfn, task)
        get = producer.get
        for task in tasks.values():
            parents = task.parents
            for use in task.inputs:
                src = get(use.lfn)
                if src is not None and src is not task:
                    src.children[task] = None
                    parents[src] = None

    assign_levels(list(tasks.values()))


def link(parent: Task, child: Task) -> None:
    if parent is child:
        return
    parent.children[child] = None
    child.parents[parent] = None


def unlink(task: Task) -> None:
    for p in task.parents:
        p.children.pop(task, None)
    for c in task.children:
        c.parents.pop(task, None)
    task.parents.clear()
    task.children.clear()


def topological(tasks: list[Task]) -> list[Task]:
    """Kahn's order (stable in input order); a cycle is an error that names its jobs."""
    indeg = {t: len(t.parents) for t in tasks}
    queue = deque(t for t in tasks if indeg[t] == 0)
    order: list[Task] = []
    while queue:
        t = queue.popleft()
        order.append(t)
        for c in t.children:
            indeg[c] -= 1
            if indeg[c] == 0:
                queue.append(c)
    if len(order) != len(tasks):
        stuck = sorted(t.id for t in tasks if indeg[t] > 0)
        shown = ", ".join(stuck[:10]) + (" …" if len(stuck) > 10 else "")
        raise fail("jobDependencies", f"the workflow has a cycle through jobs {shown}")
    return order


def assign_levels(tasks: list[Task]) -> list[Task]:
    """Level = longest distance from a root (0 for roots). Returns the topological order."""
    order = topological(tasks)
    for t in order:
        lvl = 0
        for p in t.parents:
            if p.level + 1 > lvl:
                lvl = p.level + 1
        t.level = lvl
    return order
