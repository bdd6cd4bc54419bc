"""Data reuse (workflow reduction), as Pegasus's ``DataReuseEngine`` does it (SPEC §2.2).

A job is a candidate when it has outputs and each one is either in the replica catalog or not
staged out and not read by any child. Deletion then cascades bottom-up: a job goes when all its
children go and none of its staged-out outputs is missing from the catalog. Note the Pegasus
consequence: a job whose outputs are all ``stageOut: false`` and unused is always pruned, so
planning a workflow that stages nothing out needs ``force`` (``--force``).
"""

from __future__ import annotations

from planner.passes.graph import assign_levels, unlink
from planner.passes.state import PlanState, Task


def reduce(state: PlanState) -> list[Task]:
    """Remove reusable jobs from ``state.tasks``; returns the deleted tasks in removal order."""
    scope = state.prop("pegasus.data.reuse.scope", "full").lower()
    if state.options.force or scope == "none":
        return []
    partial = scope == "partial"
    rc = state.catalogs
    in_rc: dict[str, bool] = {}

    def found(lfn: str) -> bool:
        hit = in_rc.get(lfn)
        if hit is None:
            hit = in_rc[lfn] = rc.has_replica(lfn)
        return hit

    tasks = list(state.tasks.values())
    marked: set[Task] = set()
    for t in tasks:
        if not t.outputs:
            continue
        if partial:
            flag = t.job.profiles.pegasus.get("enable_for_data_reuse", "false")
            if flag.lower() != "true":
                continue
        ok = True
        for use in t.outputs:
            if found(use.lfn):
                continue
            if not use.stage_out and not any(
                any(u.lfn == use.lfn for u in c.inputs) for c in t.children
            ):
                continue
            ok = False
            break
        if ok:
            marked.add(t)

    def transfer_output(t: Task) -> bool:
        if not t.outputs:
            return True
        return any(u.stage_out and (partial or not found(u.lfn)) for u in t.outputs)

    order = assign_levels(tasks)
    deleted: list[Task] = []
    for t in reversed(order):
        if t not in marked and all(c in marked for c in t.children) and not transfer_output(t):
            marked.add(t)
        if t in marked:
            deleted.append(t)
    for t in deleted:
        unlink(t)
        del state.tasks[t.id]
    if deleted:
        assign_levels(list(state.tasks.values()))
    return deleted
