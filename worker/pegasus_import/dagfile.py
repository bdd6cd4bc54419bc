"""DAGMan input files: the workflow's .dag and the rescue DAGs DAGMan writes when it stops short.

Only the statements that carry provenance are kept (nodes, their submit files, PRE/POST scripts,
retries, sub-DAGs, edges, DONE marks); throttles and priorities are not history.

The local engine has the full DAGMan-language parser (`worker.engines.local.dagfile`, which the
monitor also uses for Aerie's DAGs); this one stays separate on purpose. It keeps a script's
argument text verbatim (monitord stores it so, spacing included, and parity with stampede
depends on it; the engine's parser splits it into words), it reads rescue headers for the
failed-node list, and it skips statements it does not know instead of rejecting the DAG, since
an imported run has already run. Rescue files are found by the engine's rule.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from worker.engines.local import rescue
from worker.pegasus_import.errors import SubmitDirError


@dataclass(frozen=True)
class Script:
    """A PRE or POST script: executable and its argument string as written in the DAG."""

    executable: str
    arguments: str


@dataclass
class DagNode:
    name: str
    submit_file: str | None = None
    subdag: str | None = None  # SUBDAG EXTERNAL <name> <file>
    directory: str | None = None  # DIR <dir> of a JOB/SUBDAG line
    pre: Script | None = None
    post: Script | None = None
    retry: int = 0
    category: str | None = None
    done: bool = False


@dataclass
class DagFile:
    path: Path
    nodes: dict[str, DagNode] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)


_SCRIPT = re.compile(r"^SCRIPT\s+(?:DEFER\s+\d+\s+\d+\s+)?(PRE|POST)\s+(\S+)\s+(.*)$", re.I)


def read_dag(path: Path) -> DagFile:
    """Parse a DAGMan file; unknown statements are skipped, malformed known ones are errors."""
    dag = DagFile(path=path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise SubmitDirError(path, f"cannot read DAG: {exc.strerror}") from exc
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        keyword = words[0].upper()
        try:
            if keyword == "JOB":
                node = dag.nodes.setdefault(words[1], DagNode(words[1]))
                node.submit_file = words[2]
                _read_options(node, words[3:])
            elif keyword == "SUBDAG":
                # SUBDAG EXTERNAL name file [DIR d]
                node = dag.nodes.setdefault(words[2], DagNode(words[2]))
                node.subdag = words[3]
                _read_options(node, words[4:])
            elif keyword == "SCRIPT":
                match = _SCRIPT.match(line)
                if match is None:
                    raise IndexError
                kind, name, rest = match.group(1).upper(), match.group(2), match.group(3)
                # monitord keeps the argument text after the first space verbatim
                executable, _, arguments = rest.partition(" ")
                script = Script(executable, arguments)
                node = dag.nodes.setdefault(name, DagNode(name))
                if kind == "PRE":
                    node.pre = script
                else:
                    node.post = script
            elif keyword == "RETRY":
                dag.nodes.setdefault(words[1], DagNode(words[1])).retry = int(words[2])
            elif keyword == "CATEGORY":
                dag.nodes.setdefault(words[1], DagNode(words[1])).category = words[2]
            elif keyword == "DONE":
                dag.nodes.setdefault(words[1], DagNode(words[1])).done = True
            elif keyword == "PARENT":
                upper = [w.upper() for w in words]
                cut = upper.index("CHILD")
                for parent in words[1:cut]:
                    for child in words[cut + 1 :]:
                        dag.edges.append((parent, child))
        except (IndexError, ValueError) as exc:
            raise SubmitDirError(
                path, f"malformed {keyword} statement: {line!r}", line=number
            ) from exc
    return dag


def _read_options(node: DagNode, words: list[str]) -> None:
    upper = [w.upper() for w in words]
    if "DIR" in upper:
        node.directory = words[upper.index("DIR") + 1]
    if "DONE" in upper:
        node.done = True


@dataclass(frozen=True)
class Rescue:
    """What a rescue DAG says: which nodes were done and which had failed when DAGMan stopped."""

    path: Path
    number: int
    done: frozenset[str]
    failed: tuple[str, ...]
    total_nodes: int | None


_RESCUE_SUFFIX = re.compile(r"\.rescue(\d{3})$")


def rescue_files(dag_path: Path) -> list[Path]:
    """`<dag>.rescueNNN` files beside a DAG, oldest first."""
    return [path for _, path in rescue.rescue_files(dag_path)]


def read_rescue(path: Path) -> Rescue:
    match = _RESCUE_SUFFIX.search(path.name)
    number = int(match.group(1)) if match else 0
    done: set[str] = set()
    failed: list[str] = []
    total: int | None = None
    in_failed = False
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line.startswith("# Total number of Nodes:"):
            total = int(line.rsplit(":", 1)[1])
        elif line.startswith("# Nodes that failed:"):
            in_failed = True
        elif in_failed and line.startswith("#"):
            names = line.lstrip("#").strip()
            for name in names.split(","):
                name = name.strip()
                if name == "<ENDLIST>":
                    in_failed = False
                elif name:
                    failed.append(name)
        elif line.upper().startswith("DONE "):
            done.add(line.split()[1])
    return Rescue(path, number, frozenset(done), tuple(failed), total)


def argv_of(arguments: str) -> list[str]:
    """Split a DAG/.sub argument string the way a shell would, tolerating stray quotes."""
    try:
        return shlex.split(arguments)
    except ValueError:
        return arguments.split()
