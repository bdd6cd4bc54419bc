"""pegasus-status' progress table as text, one renderer for both of its sources.

`aerie status` reads a run's DAG counts from the database (`gateway.services.provenance`:
native and imported runs alike) or straight from a Pegasus submit directory's dagman.out files
(`worker.pegasus_import.status`). Both hand their DAG tree to `render_progress`, so a run reads
the same either way and both match pegasus-status 5.x (Pegasus.client.status): the short table
of totals, or with `-l` one row per DAG drawn as a tree (`├─`, `└─`, and `│ ` under a sub-DAG
that has later siblings), `TOTALS(<n> jobs)` for hierarchical runs, then the summary line.

It lives here because the worker may import gateway.services while the gateway may not import
the worker (pyproject's import contracts); it is plain text formatting over duck-typed rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

RUNNING = "Running"
SUCCESS = "Success"
FAILURE = "Failure"

_LEGEND_SHORT = (
    "UNREADY: Jobs blocked by dependencies  READY: Jobs ready for submission  PRE : PRE-Scripts "
    "running\nQUEUED: Submitted jobs  POST: POST-Scripts running  SUCCESS: Job completed with "
    "success\nFAILURE: Jobs completed with failure  %DONE: Success percentage"
)
_LEGEND_LONG = (
    "UNREADY: Jobs blocked by dependencies  READY: Jobs ready for submission  PRE : PRE-Scripts "
    "running\nIN_Q: Submitted jobs  POST: POST-Scripts running  DONE: Job completed with "
    "success\nFAIL: Jobs completed with failure  %DONE: Success percentage STATE: Workflow "
    "state DAGNAME: Name of workflow"
)
COUNTS = ("unready", "ready", "pre", "queued", "post", "succeeded", "failed", "total")


class DagCounts(Protocol):
    """One DAG's numbers: DAGMan's node counts and pegasus-status' state for it."""

    @property
    def unready(self) -> int: ...
    @property
    def ready(self) -> int: ...
    @property
    def pre(self) -> int: ...
    @property
    def queued(self) -> int: ...
    @property
    def post(self) -> int: ...
    @property
    def succeeded(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def percent_done(self) -> float: ...
    @property
    def state(self) -> str: ...


@dataclass
class DagNode:
    """A DAG in the tree pegasus-status draws; `name` is what its DAGNAME column shows."""

    dag: DagCounts
    name: str
    children: list[DagNode] = field(default_factory=list)

    def walk(self) -> Iterator[DagNode]:
        """This DAG, then its sub-DAGs depth first: the order of pegasus-status' rows."""
        yield self
        for child in self.children:
            yield from child.walk()


def percent(succeeded: int, total: int) -> float:
    return float(f"{succeeded / total * 100:.2f}") if total else 0.0


def totals(dags: Sequence[DagCounts]) -> dict[str, int | float]:
    """The TOTALS row: counts summed over every DAG, %DONE from the summed counts."""
    sums: dict[str, int | float] = {k: sum(getattr(d, k) for d in dags) for k in COUNTS}
    sums["percent_done"] = percent(int(sums["succeeded"]), int(sums["total"]))
    return sums


def summary_line(dags: Sequence[DagCounts]) -> str:
    """`Summary: N DAG(s) total (Success:a Failure:b Running:c)`, states with no DAG left out;
    no dagman.out at all counts as one running DAG, as pegasus-status says."""
    if not dags:
        return "Summary: 1 DAG total (Running:1)"
    counts = {s: sum(1 for d in dags if d.state == s) for s in (SUCCESS, FAILURE, RUNNING)}
    parts = " ".join(f"{state}:{n}" for state, n in counts.items() if n)
    return f"Summary: {len(dags)} DAG{'' if len(dags) == 1 else 's'} total ({parts})"


def tree_rows(root: DagNode) -> list[tuple[DagCounts, str]]:
    """Each DAG with its DAGNAME cell: the root bare, sub-DAGs as `├─`/`└─` branches."""
    rows: list[tuple[DagCounts, str]] = [(root.dag, root.name)]

    def visit(children: list[DagNode], prefix: str) -> None:
        for index, child in enumerate(children):
            last = index == len(children) - 1
            rows.append((child.dag, prefix + ("└─" if last else "├─") + child.name))
            visit(child.children, prefix + ("  " if last else "│ "))

    visit(root.children, "  ")
    return rows


def render_progress(root: DagNode | None, *, long: bool = False, legend: bool = False) -> str:
    """pegasus-status' progress part, line for line (it starts with a blank line, as there)."""
    dags = [node.dag for node in root.walk()] if root is not None else []
    sums = totals(dags)
    lines: list[str] = []
    if legend:
        lines.append("")
        lines.extend((_LEGEND_LONG if long else _LEGEND_SHORT).splitlines())
    lines.append("")
    if not long:
        lines.append(
            f"{'UNREADY':^8}{'READY':^8}{'PRE':^6}{'QUEUED':^8}{'POST':^8}{'SUCCESS':^9}"
            f"{'FAILURE':^9}{'%DONE':^8}".rstrip()
        )
        lines.append(
            f"{sums['unready']:^8}{sums['ready']:^8}{sums['pre']:^6}{sums['queued']:^8}"
            f"{sums['post']:^8}{sums['succeeded']:^9}{sums['failed']:^9}"
            f"{sums['percent_done']:^8}".rstrip()
        )
    else:
        lines.append(
            f"{'UNREADY':^7}{'READY':^7}{'PRE':^5}{'IN_Q':^6}{'POST':^6}{'DONE':^6}{'FAIL':^6}"
            f"{'%DONE':^6}{'STATE':^8}{'DAGNAME':25}".rstrip()
        )
        rows = [(_cells(dag), dag.state, name) for dag, name in (tree_rows(root) if root else [])]
        if len(dags) > 1:
            rows.append((sums, " ", f"TOTALS({sums['total']} jobs)"))
        for values, state, name in rows:
            lines.append(
                f"{values['unready']:^7}{values['ready']:^7}{values['pre']:^5}"
                f"{values['queued']:^6}{values['post']:^6}{values['succeeded']:^6}"
                f"{values['failed']:^6}{values['percent_done']:^6}{state:^8}{name:25}".rstrip()
            )
    lines.append(summary_line(dags))
    return "\n".join(lines) + "\n"


def _cells(dag: DagCounts) -> dict[str, int | float]:
    return {**{k: getattr(dag, k) for k in COUNTS}, "percent_done": dag.percent_done}
