"""pegasus-status' progress table for a submit directory, from its dagman.out files.

`aerie status SUBMITDIR` (and the status of an imported run whose submit directory is still
on disk) prints exactly what `pegasus-status --noqueue` prints for the same directory: DAGMan's
node counts per DAG, a TOTALS row for hierarchical workflows and the per-state DAG summary.
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway.services import status_text
from gateway.services.status_text import DagNode
from worker.pegasus_import.dagman_out import (
    DAG_OK,
    DagProgress,
    WorkflowProgress,
    workflow_progress,
)


def progress_tree(progress: WorkflowProgress) -> DagNode | None:
    """The DAGs nested by folder, as pegasus-status nests them: a sub-DAG belongs to the
    nearest DAG whose dagman.out is in one of its parent folders. Folders are visited as
    pegasus-status' top-down walk visits them (a folder's own DAG before its sub-folders'),
    siblings in name order where pegasus-status takes the file system's order."""
    if progress.root is None:
        return None
    root = DagNode(progress.root, progress.root.dagname)
    nodes = {progress.root.dagman_out.parent: root}
    for dag in sorted(progress.subs, key=lambda d: (d.dagman_out.parent.parts, d.dagman_out.name)):
        folder = dag.dagman_out.parent
        parent = root
        for ancestor in folder.parents:
            if ancestor in nodes:
                parent = nodes[ancestor]
                break
        node = DagNode(dag, dag.dagname)
        parent.children.append(node)
        nodes.setdefault(folder, node)
    return root


def render_progress(progress: WorkflowProgress, *, long: bool = False, legend: bool = False) -> str:
    """The progress part of pegasus-status' text output, line for line (the gateway's
    `aerie status RUN` draws the database's DAG tree with the same renderer)."""
    return status_text.render_progress(progress_tree(progress), long=long, legend=legend)


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
