"""What a submit dir says before anything runs: DAG nodes, edges, scripts and tasks.

Node kinds follow Pegasus's naming scheme (planner/naming.py, SPEC §2.5), which is how
stampede's `job.type_desc` is known for both our runs and imported ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from worker.engines.local.dagfile import Script, parse_dag
from worker.pegasus_import.static_files import type_desc


@dataclass
class TaskSpec:
    abs_task_id: str
    transformation: str | None
    argv: str | None


@dataclass
class NodeSpec:
    name: str
    submit_file: str | None
    type_desc: str
    max_retries: int
    pre_script: str | None
    post_script: str | None
    clustered: bool = False
    executable: str | None = None
    argv: str | None = None
    tasks: list[TaskSpec] = field(default_factory=list)


@dataclass
class StaticWorkflow:
    nodes: list[NodeSpec]
    edges: list[tuple[str, str]]


def _script(script: Script | None) -> str | None:
    if script is None:
        return None
    return " ".join([script.executable, *script.arguments])


def _tasks(submit_dir: Path, node: NodeSpec) -> None:
    """Fill tasks from the job wrapper's input (`<job>.lite.json`) when the node has one."""
    if not node.submit_file:
        return
    lite = (submit_dir / node.submit_file).with_name(f"{node.name}.lite.json")
    if not lite.is_file():
        return
    try:
        spec = json.loads(lite.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(spec, dict):
        return
    items = spec.get("tasks") if isinstance(spec.get("tasks"), list) else None
    node.clustered = items is not None
    node.executable = spec.get("executable")
    args = spec.get("arguments")
    node.argv = " ".join(map(str, args)) if isinstance(args, list) else None
    for item in items if items is not None else [spec]:
        if not isinstance(item, dict) or not item.get("job_id"):
            continue
        targs = item.get("arguments")
        node.tasks.append(
            TaskSpec(
                abs_task_id=str(item["job_id"]),
                transformation=item.get("transformation") or spec.get("transformation"),
                argv=" ".join(map(str, targs)) if isinstance(targs, list) else None,
            )
        )


def read_static(submit_dir: Path, dag_file: str) -> StaticWorkflow:
    """Nodes (in file order) and edges of the DAG, with tasks of compute nodes."""
    dag = parse_dag(submit_dir / dag_file)
    nodes: list[NodeSpec] = []
    edges: list[tuple[str, str]] = []
    for node in dag.nodes.values():
        submit_file = node.submit_file
        if node.kind == "subdag" and node.directory:
            # the sub-workflow's DAG inside its own submit dir (SUBDAG EXTERNAL ... DIR d)
            submit_file = f"{node.directory.rstrip('/')}/{node.submit_file}"
        spec = NodeSpec(
            name=node.name,
            submit_file=submit_file,
            type_desc=type_desc(node.name, node.kind == "subdag"),
            max_retries=node.retries,
            pre_script=_script(node.pre),
            post_script=_script(node.post),
        )
        if spec.type_desc == "compute":
            _tasks(submit_dir, spec)
        nodes.append(spec)
        edges.extend((node.name, child) for child in node.children)
    return StaticWorkflow(nodes=nodes, edges=edges)


@dataclass
class Metadata:
    workflow: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, dict[str, str]] = field(default_factory=dict)


def _workflow_document(submit_dir: Path, dax_file: str | None) -> Path | None:
    """The planned workflow YAML: braindump's `dax`, else the copy under `catalogs/`."""
    if dax_file:
        path = Path(dax_file)
        path = path if path.is_absolute() else submit_dir / path
        if path.is_file():
            return path
    catalogs = submit_dir / "catalogs"
    if catalogs.is_dir():
        for path in sorted(catalogs.glob("*.y*ml")):
            if path.name.startswith(("workflow", "wf")):
                return path
    return None


def read_metadata(submit_dir: Path, dax_file: str | None) -> Metadata:
    """`metadata:` of the workflow and of its jobs (SPEC §2.12), as strings."""
    import yaml

    meta = Metadata()
    path = _workflow_document(submit_dir, dax_file)
    if path is None:
        return meta
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return meta
    if "metadata" not in text and "\\" not in text:
        # No `metadata:` key can be in it (only a double-quoted escape could spell one
        # without the word): skip parsing the whole workflow (~0.3 s per 1,000 jobs).
        return meta
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(text, Loader=loader)  # noqa: S506
    except yaml.YAMLError:
        return meta
    if not isinstance(doc, dict):
        return meta
    if isinstance(doc.get("metadata"), dict):
        meta.workflow = {str(k): str(v) for k, v in doc["metadata"].items()}
    for job in doc.get("jobs") or []:
        if isinstance(job, dict) and isinstance(job.get("metadata"), dict) and job.get("id"):
            meta.tasks[str(job["id"])] = {str(k): str(v) for k, v in job["metadata"].items()}
    return meta
