"""Serialise an :class:`~planner.dag.ExecutableWorkflow` into a submit directory.

The DAG text is produced line by line by :func:`dag_lines` (a generator, so tests assert exact
lines without touching disk and a 100k-node DAG never exists as one big list of objects).
:func:`write` lays out the directory described in ``docs/submit-dir.md``. We write the DAG
language ourselves: ``htcondor2.dags`` emits ``MAXJOBS`` wrongly and cannot express what we need
(see ``../shared/htcondor/SPEC.md`` §1.8).

Writing ~300k small files dominates the cost for large workflows, so job files are written
with raw ``os.open``/``os.write`` calls from a small thread pool (the GIL is released during the
system calls) after creating each hashed directory once.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import orjson
import yaml

from planner.dag import ExecutableWorkflow, JobType, Node
from planner.submit import render

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
_THREADS = 4
_BATCH = 512


def _script_line(kind: str, node: Node) -> str | None:
    script = node.pre if kind == "PRE" else node.post
    if script is None:
        return None
    args = " ".join(script.arguments)
    return f"SCRIPT {kind} {node.name} {script.executable}{' ' + args if args else ''}"


def node_lines(node: Node) -> Iterator[str]:
    """The DAG commands of one node, in Pegasus's order (JOB, SCRIPT, PRIORITY, RETRY, …)."""
    name = node.name
    if node.subdag is not None:
        yield f"SUBDAG EXTERNAL {name} {node.subdag.dag_file} DIR {node.subdag.dir}"
    else:
        yield f"JOB {name} {node.sub_path}"
    for kind in ("PRE", "POST"):
        line = _script_line(kind, node)
        if line:
            yield line
    yield f"PRIORITY {name} {node.priority}"
    if node.retry:
        yield f"RETRY {name} {node.retry}"
    if node.category:
        yield f"CATEGORY {name} {node.category}"
    if node.abort_dag_on is not None:
        value, ret = node.abort_dag_on
        yield f"ABORT-DAG-ON {name} {value}" + (f" RETURN {ret}" if ret is not None else "")
    if node.vars:
        pairs = " ".join(
            f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
            for k, v in node.vars.items()
        )
        yield f"VARS {name} {pairs}"


def dag_lines(wf: ExecutableWorkflow) -> Iterator[str]:
    """Every line of ``<prefix>.dag`` (without newlines)."""
    yield "#" * 70
    yield "# AERIE GENERATED DAG FILE"
    yield f"# DAG {wf.label}"
    yield f"# Index = {wf.index}, Count = null"
    yield "#" * 70
    yield "JOBSTATE_LOG jobstate.log"
    yield f"NODE_STATUS_FILE {wf.prefix}.dag.status {wf.node_status_interval}"
    for attr, value in wf.job_attrs.items():
        yield f"SET_JOB_ATTR {attr} = {value}"
    for category, limit in wf.maxjobs.items():
        yield f"MAXJOBS {category} {limit}"
    for node in wf.nodes.values():
        yield ""
        yield from node_lines(node)
    yield ""
    # one line per parent with all its children: DAGMan's syntax allows it, and for workflows
    # with millions of edges it halves the file and the time to write and parse it
    for parent, kids in wf.children.items():
        if kids:
            yield f"PARENT {parent} CHILD {' '.join(kids)}"
    yield "#" * 70
    yield "# End of DAG"
    yield "#" * 70


def _payload_bytes(node: Node) -> bytes:
    if node.type is JobType.REGISTRATION:
        return "".join(f"{line}\n" for line in node.payload).encode()
    # orjson: the .lite.json files of a 100k-job workflow are ~1 GB of JSON; the standard
    # library's encoder spends most of the writer's CPU time on them
    return orjson.dumps(node.payload)


def _job_files(wf: ExecutableWorkflow, root: str) -> Iterator[tuple[str, bytes]]:
    for node in wf.nodes.values():
        if node.subdag is None or node.submit:
            yield f"{root}/{node.sub_path}", render(node.submit, node.name).encode()
        ppath = node.payload_path
        if ppath is not None:
            yield f"{root}/{ppath}", _payload_bytes(node)


def _write_batch(batch: list[tuple[str, bytes]]) -> None:
    for path, data in batch:
        fd = os.open(path, _WRITE_FLAGS, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def _batched(items: Iterable[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    batch: list[tuple[str, bytes]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def braindump_text(wf: ExecutableWorkflow) -> str:
    return yaml.safe_dump(wf.braindump, sort_keys=False, default_flow_style=False)


def write(wf: ExecutableWorkflow, submit_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the whole submit directory (and those of statically planned sub-workflows).

    ``submit_dir`` defaults to the directory the workflow was planned for; paths inside the
    submit files are absolute and were fixed at planning time, so writing elsewhere is only
    useful for inspection.
    """
    was_enabled = gc.isenabled()
    gc.disable()  # see planner.compile.plan: nothing here makes garbage cycles
    try:
        return _write(wf, submit_dir)
    finally:
        if was_enabled:
            gc.enable()


def _write(wf: ExecutableWorkflow, submit_dir: str | os.PathLike[str] | None) -> Path:
    root = Path(submit_dir) if submit_dir is not None else wf.submit_dir
    root.mkdir(parents=True, exist_ok=True)
    root_s = str(root)
    for d in {node.dir for node in wf.nodes.values()}:
        os.makedirs(f"{root_s}/{d}", exist_ok=True)

    # Bounded hand-off: Executor.map would render every file up front (GBs for 100k jobs);
    # at most two batches per thread are in flight while the next ones are rendered.
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        pending: deque[Future[None]] = deque()
        for batch in _batched(_job_files(wf, root_s)):
            if len(pending) >= 2 * _THREADS:
                pending.popleft().result()
            pending.append(pool.submit(_write_batch, batch))
        for fut in pending:
            fut.result()

    with open(root / wf.dag_file, "w", encoding="utf-8") as fh:
        fh.writelines(f"{line}\n" for line in dag_lines(wf))
    (root / "braindump.yml").write_text(braindump_text(wf), encoding="utf-8")
    (root / f"{wf.prefix}.cache").write_text("".join(f"{c}\n" for c in wf.cache), "utf-8")
    (root / f"{wf.prefix}.metrics").write_text(json.dumps(wf.metrics, indent=2) + "\n", "utf-8")
    if wf.catalog_files:
        (root / "catalogs").mkdir(exist_ok=True)
        for name, source in wf.catalog_files.items():
            shutil.copyfile(source, root / "catalogs" / name)

    for node in wf.nodes.values():
        if node.subdag is not None and node.subdag.workflow is not None:
            sub_root = root / node.subdag.dir
            _write(node.subdag.workflow, sub_root)
            link = sub_root.with_suffix("") if sub_root.suffix == ".000" else None
            if link is not None and not link.exists() and not link.is_symlink():
                link.symlink_to(sub_root.name)
    return root
