"""Helpers for the compile tests: plan a workflow file into tmp_path and read the result back.

`plan_file(workflow, submit_dir, **options)` loads inputs the way `aerie plan` does and returns
the executable workflow (already written); `dag_structure(path)` parses our DAG text with a tiny
independent reader; `parse_sub(path)` feeds a .sub to the real `htcondor2.Submit`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import htcondor2

from planner import PlanOptions, plan, write
from planner.dag import ExecutableWorkflow
from planner.inputs import load_inputs
from planner.properties import Properties


def plan_file(
    workflow: Path,
    submit_dir: Path,
    *,
    properties: dict[str, str] | None = None,
    write_files: bool = True,
    rcs: tuple[Path, ...] = (),
    tcs: tuple[Path, ...] = (),
    scs: tuple[Path, ...] = (),
    **options: Any,
) -> ExecutableWorkflow:
    props = Properties.layered(properties or {})
    inputs = load_inputs(
        workflow,
        replica_catalogs=rcs,
        transformation_catalogs=tcs,
        site_catalogs=scs,
        properties=props,
        run_checks=False,
    )
    options.setdefault("seed", 7)
    ew = plan(inputs, PlanOptions(submit_dir=submit_dir, **options))
    if write_files:
        write(ew)
    return ew


@dataclass
class DagFile:
    jobs: dict[str, str] = field(default_factory=dict)
    subdags: dict[str, tuple[str, str]] = field(default_factory=dict)
    retry: dict[str, int] = field(default_factory=dict)
    priority: dict[str, int] = field(default_factory=dict)
    category: dict[str, str] = field(default_factory=dict)
    post: dict[str, str] = field(default_factory=dict)
    pre: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    maxjobs: dict[str, int] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)
    other: list[str] = field(default_factory=list)

    def nodes(self) -> set[str]:
        return set(self.jobs) | set(self.subdags)

    def parents(self, node: str) -> set[str]:
        return {p for p, c in self.edges if c == node}

    def children(self, node: str) -> set[str]:
        return {c for p, c in self.edges if p == node}

    def named(self, prefix: str) -> list[str]:
        return sorted(n for n in self.nodes() if n.startswith(prefix))


def dag_structure(path: Path) -> DagFile:
    """An independent reader of the DAG commands we emit (not the engine's parser)."""
    d = DagFile()
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        w = line.split()
        kw = w[0].upper()
        if kw == "JOB":
            d.jobs[w[1]] = w[2]
        elif kw == "SUBDAG":
            assert w[1] == "EXTERNAL" and w[4] == "DIR"
            d.subdags[w[2]] = (w[3], w[5])
        elif kw == "RETRY":
            d.retry[w[1]] = int(w[2])
        elif kw == "PRIORITY":
            d.priority[w[1]] = int(w[2])
        elif kw == "CATEGORY":
            d.category[w[1]] = w[2]
        elif kw == "SCRIPT":
            (d.post if w[1] == "POST" else d.pre)[w[2]] = " ".join(w[3:])
        elif kw == "VARS":
            d.vars[w[1]] = " ".join(w[2:])
        elif kw == "MAXJOBS":
            d.maxjobs[w[1]] = int(w[2])
        elif kw == "PARENT":
            i = w.index("CHILD")
            for p in w[1:i]:
                for c in w[i + 1 :]:
                    d.edges.add((p, c))
        else:
            d.other.append(line)
    return d


def parse_sub(path: Path) -> dict[str, str]:
    """The submit description as HTCondor's own parser reads it (raises on a bad file)."""
    text = path.read_text()
    sub = htcondor2.Submit(text)
    assert sub.getQArgs() == "", f"{path}: expected a single plain `queue`"
    assert text.rstrip().endswith("queue")
    return dict(sub)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


_SAFE_NODE = re.compile(r"^[A-Za-z0-9_\-]+$")


def assert_valid_node_names(d: DagFile) -> None:
    for name in d.nodes():
        assert _SAFE_NODE.match(name), f"node name {name!r} has characters DAGMan reserves"
    for p, c in d.edges:
        assert p in d.nodes() and c in d.nodes(), f"edge {p} -> {c} names an undeclared node"


def ancestors(d: DagFile, node: str) -> set[str]:
    """Every node that must finish before `node` starts."""
    seen: set[str] = set()
    todo = [node]
    while todo:
        for p in d.parents(todo.pop()):
            if p not in seen:
                seen.add(p)
                todo.append(p)
    return seen
