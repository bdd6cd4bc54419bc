"""DAGMan attributes of every node (SPEC §2.8): retries, priorities, categories, POST scripts.

- ``RETRY``: the ``dagman.retry`` profile (job > … > properties), default 1; ``pegasus.mode``
  ``development``/``debug`` make it 0, ``tutorial`` 1.
- ``PRIORITY``: compute and registration jobs ``10 × depth`` in the final DAG (Pegasus's missing
  ``break`` gives registration the compute rule); stage-in/inter-site 700, create-dir 800,
  stage-out 900, cleanup 1000; a ``dagman.PRIORITY`` or ``condor.priority`` profile wins.
- ``CATEGORY``: stagein, stageout, registration, cleanup (inplace) and subwf, plus any
  ``dagman.CATEGORY`` profile; ``MAXJOBS`` lines for registration 1, stagein 10, cleanup 4,
  stageout 10, overridden or extended by ``dagman.<category>.maxjobs`` properties.
- ``POST``: every compute node runs ``aerie-lite exitcode``, which judges the job the way
  pegasus-exitcode does; ``VARS <node> My.DAGNodeRetry="$(RETRY)"`` on every job node.
"""

from __future__ import annotations

from collections import deque

from planner.dag import JobType, Script
from planner.passes.errors import fail
from planner.passes.state import PlanState, Task

DEFAULT_MAXJOBS = {"registration": 1, "stagein": 10, "cleanup": 4, "stageout": 10}
MODES = ("production", "development", "debug", "tutorial")


def depths(state: PlanState) -> dict[str, int]:
    """Longest distance from a root in the final DAG (0 for roots)."""
    wf = state.wf
    indeg = dict.fromkeys(wf.nodes, 0)
    for _parent, child in wf.edges():
        indeg[child] += 1
    depth = dict.fromkeys(wf.nodes, 0)
    queue = deque(n for n, d in indeg.items() if d == 0)
    while queue:
        n = queue.popleft()
        dn = depth[n] + 1
        for c in wf.children.get(n, ()):
            if depth[c] < dn:
                depth[c] = dn
            indeg[c] -= 1
            if indeg[c] == 0:
                queue.append(c)
    return depth


def _int(value: str, where: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise fail(where, f"expected an integer, got {value!r}", code="profile") from None


def assign(state: PlanState, order: list[Task]) -> None:
    wf = state.wf
    mode = state.prop("pegasus.mode", "production").lower()
    if mode not in MODES:
        raise fail("pegasus.mode", f"unknown mode {mode!r} (use {', '.join(MODES)})")
    default_retry = _int(state.prop("dagman.retry", "1"), "dagman.retry")
    if mode in ("development", "debug"):
        default_retry = 0
    elif mode == "tutorial":
        default_retry = 1

    depth = depths(state)
    post_exe = wf.wrapper or f"{wf.submit_dir}/aerie-lite"
    log = f"{wf.prefix}.exitcode.log"
    by_node = {t.node.name: t for t in order if t.node is not None}

    for name, node in wf.nodes.items():
        node.retry = default_retry
        task = by_node.get(name)
        if node.type in (JobType.COMPUTE, JobType.REGISTRATION, JobType.DAX, JobType.DAG):
            node.priority = 10 * depth[name]
        if task is not None:
            dag = task.profiles.get("dagman", {})
            where = f"jobs[{task.id}].profiles.dagman"
            if "RETRY" in dag:
                node.retry = _int(dag["RETRY"], f"{where}.retry")
            if "PRIORITY" in dag:
                node.priority = _int(dag["PRIORITY"], f"{where}.priority")
            elif "priority" in task.profiles.get("condor", {}):
                node.priority = _int(
                    task.profiles["condor"]["priority"], f"jobs[{task.id}].profiles.condor.priority"
                )
            if "CATEGORY" in dag:
                node.category = dag["CATEGORY"]
            if "ABORT-DAG-ON" in dag:
                parts = dag["ABORT-DAG-ON"].split()
                ret = (
                    _int(parts[2], where)
                    if len(parts) == 3 and parts[1].upper() == "RETURN"
                    else None
                )
                node.abort_dag_on = (_int(parts[0], f"{where}.abort-dag-on"), ret)
        if node.type is JobType.DAX or node.type is JobType.DAG:
            node.category = node.category or "subwf"
            continue
        node.vars["My.DAGNodeRetry"] = "$(RETRY)"
        if node.type is JobType.COMPUTE:
            args = ["exitcode", "-r", "$RETURN"]
            if task is not None:
                peg = task.profiles.get("pegasus", {})
                for key, flag in (("exitcode.successmsg", "-s"), ("exitcode.failuremsg", "-f")):
                    if key in peg:
                        args += [flag, peg[key].replace("+", "\\+").replace(" ", "+")]
            args += ["-l", log, f"{node.dir}/{name}.out"]
            node.post = Script(post_exe, args)

    maxjobs = dict(DEFAULT_MAXJOBS)
    for key, value in state.properties.items():
        if key.startswith("dagman.") and key.endswith(".maxjobs") and key.count(".") == 2:
            maxjobs[key.split(".")[1]] = _int(value, key)
    wf.maxjobs = maxjobs
