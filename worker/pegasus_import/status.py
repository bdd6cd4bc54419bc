"""pegasus-status' progress table for a submit directory, from its dagman.out files.

`aerie status SUBMITDIR` (and the status of an imported run whose submit directory is still
on disk) prints exactly what `pegasus-status --noqueue` prints for the same directory: DAGMan's
node counts per DAG, a TOTALS row for hierarchical workflows and the per-state DAG summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from worker.pegasus_import.dagman_out import (
    DAG_DONE,
    DAG_FAIL,
    DAG_OK,
    DagProgress,
    WorkflowProgress,
    workflow_progress,
)

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


@dataclass
class _Tree:
    dag: DagProgress
    children: list[_Tree] = field(default_factory=list)


def _tree(progress: WorkflowProgress) -> list[tuple[DagProgress, str]]:
    """Root first, then sub-DAGs depth first, each with its ├─/└─ prefix."""
    if progress.root is None:
        return []
    root = _Tree(progress.root)
    nodes = {progress.root.dagman_out.parent: root}
    for dag in sorted(progress.subs, key=lambda d: str(d.dagman_out)):
        folder = dag.dagman_out.parent
        parent = root
        for ancestor in folder.parents:
            if ancestor in nodes:
                parent = nodes[ancestor]
                break
        node = _Tree(dag)
        parent.children.append(node)
        nodes.setdefault(folder, node)

    rows: list[tuple[DagProgress, str]] = [(progress.root, progress.root.dagname)]

    def visit(children: list[_Tree], prefix: str) -> None:
        for index, child in enumerate(children):
            last = index == len(children) - 1
            rows.append((child.dag, prefix + ("└─" if last else "├─") + child.dag.dagname))
            visit(child.children, prefix + ("  " if last else "│ "))

    visit(root.children, "  ")
    return rows


def summary_line(progress: WorkflowProgress) -> str:
    counts = progress.state_counts()
    total = len(progress.dags) or 1
    parts = [
        f"{state}:{counts[state]}" for state in (DAG_DONE, DAG_FAIL, DAG_OK) if counts.get(state)
    ]
    if not progress.dags:
        parts = [f"{DAG_OK}:1"]
    plural = "" if total == 1 else "s"
    return f"Summary: {total} DAG{plural} total ({' '.join(parts)})"


def render_progress(progress: WorkflowProgress, *, long: bool = False, legend: bool = False) -> str:
    """The progress part of pegasus-status' text output, line for line."""
    lines: list[str] = []
    if legend:
        lines.append("")
        lines.extend((_LEGEND_LONG if long else _LEGEND_SHORT).splitlines())
    totals = progress.totals()
    if not long:
        lines.append("")
        lines.append(
            f"{'UNREADY':^8}{'READY':^8}{'PRE':^6}{'QUEUED':^8}{'POST':^8}{'SUCCESS':^9}"
            f"{'FAILURE':^9}{'%DONE':^8}".rstrip()
        )
        lines.append(
            f"{totals['unready']:^8}{totals['ready']:^8}{totals['pre']:^6}{totals['queued']:^8}"
            f"{totals['post']:^8}{totals['succeeded']:^9}{totals['failed']:^9}"
            f"{totals['percent_done']:^8}".rstrip()
        )
    else:
        lines.append("")
        lines.append(
            f"{'UNREADY':^7}{'READY':^7}{'PRE':^5}{'IN_Q':^6}{'POST':^6}{'DONE':^6}{'FAIL':^6}"
            f"{'%DONE':^6}{'STATE':^8}{'DAGNAME':25}".rstrip()
        )
        rows: list[tuple[dict[str, object], str, str]] = [
            (dag.as_dict(), dag.state, name) for dag, name in _tree(progress)
        ]
        if len(progress.dags) > 1:
            rows.append((dict(totals), " ", f"TOTALS({totals['total']} jobs)"))
        for values, state, name in rows:
            lines.append(
                f"{values['unready']:^7}{values['ready']:^7}{values['pre']:^5}"
                f"{values['queued']:^6}{values['post']:^6}{values['succeeded']:^6}"
                f"{values['failed']:^6}{values['percent_done']:^6}{state:^8}{name:25}".rstrip()
            )
    lines.append(summary_line(progress))
    return "\n".join(lines) + "\n"


def status_json(progress: WorkflowProgress) -> dict[str, object]:
    """pegasus-status -j's `totals` and `dags` (the root DAG under "root", subs by DAG name)."""
    dags: dict[str, object] = {}
    if progress.root is not None:
        dags["root"] = progress.root.as_dict()
    for dag in progress.subs:
        dags[Path(dag.dagname).name.removesuffix(".dag")] = dag.as_dict()
    if not dags:
        dags["root"] = {**DagProgress(Path(), "").as_dict(), "state": DAG_OK}
        dags["root"].pop("dagname")  # type: ignore[attr-defined]
    return {"totals": progress.totals(), "dags": dags}


def is_pegasus_submit_dir(path: Path) -> bool:
    """A submit directory written by Pegasus (or just DAGMan), not by Aerie's planner.

    Aerie's braindump.yml carries an `aerie:` block (docs/submit-dir.md); Pegasus's does not,
    and a bare directory of dagman.out files (as pegasus-status accepts) has no braindump.
    """
    import yaml

    braindump = path / "braindump.yml"
    if not braindump.is_file():
        return (path / "braindump.txt").is_file() or any(path.glob("*.dag.dagman.out"))
    try:
        data = yaml.safe_load(braindump.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and "aerie" not in data


def submit_dir_status(
    submit_dir: Path, *, long: bool = False, legend: bool = False, dirs: bool = False,
    as_json: bool = False,
) -> str:  # fmt: skip
    """What `aerie status SUBMITDIR` prints for a Pegasus (or Aerie) submit directory."""
    progress = workflow_progress(submit_dir.resolve(), show_dirs=dirs)
    if as_json:
        return json.dumps(status_json(progress), indent=2)
    return render_progress(progress, long=long, legend=legend)
