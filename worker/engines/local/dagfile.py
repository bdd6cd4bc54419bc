"""Parser of the DAGMan input language into a plain model the scheduler runs.

The local engine executes the very `.dag` file the HTCondor engine submits, so this parser
follows DAGMan's own rules (htcondor SPEC §1): keywords are case-insensitive, node names are
case-sensitive, commands that name a node need that node to be defined first, `ALL_NODES`
applies to every node of the file it appears in, and rescue files are parsed as the same
language on top of the DAG they belong to. Errors name the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ALL_NODES = "ALL_NODES"
_RESERVED = {"PARENT", "CHILD"}
_VARS_RE = re.compile(r'\s*([A-Za-z0-9_.+]+)\s*=\s*"((?:[^"\\]|\\.)*)"')


class DagSyntaxError(ValueError):
    """A DAG (or rescue, or CONFIG) file line that DAGMan would reject."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = str(path)
        self.line = line
        self.reason = message


@dataclass
class Script:
    """A PRE/POST/HOLD script: executable plus whitespace-split arguments (macros unexpanded)."""

    kind: str
    executable: str
    arguments: list[str]
    defer_status: int | None = None
    defer_seconds: int = 0


@dataclass
class Node:
    """One DAG node as written in the file (the scheduler keeps run-time state elsewhere)."""

    name: str
    submit_file: str
    kind: str = "job"  # job | subdag | final
    directory: str | None = None
    noop: bool = False
    done: bool = False
    retries: int = 0
    retry_unless_exit: int | None = None
    pre: Script | None = None
    post: Script | None = None
    hold: Script | None = None
    pre_skip: int | None = None
    vars: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, mode)
    priority: int = 0
    category: str | None = None
    abort_value: int | None = None
    abort_return: int | None = None
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    order: int = 0


@dataclass
class NodeStatusFileSpec:
    path: str
    min_update_seconds: int = 60
    always_update: bool = False


@dataclass
class Dag:
    """A parsed DAG: nodes in file order, throttles, and the side files it asks for."""

    path: Path
    nodes: dict[str, Node] = field(default_factory=dict)
    final: str | None = None
    maxjobs: dict[str, int] = field(default_factory=dict)
    jobstate_log: str | None = None
    node_status_file: NodeStatusFileSpec | None = None
    config: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    edges: set[tuple[str, str]] = field(default_factory=set, repr=False)

    @property
    def directory(self) -> Path:
        return self.path.parent


@dataclass
class RescueInfo:
    """What a rescue file says: nodes already done, failed node names, remaining retries."""

    path: Path
    done: list[str]
    failed: list[str]
    retries: dict[str, int]


def parse_dag(path: Path | str) -> Dag:
    """Parse a DAG file (with INCLUDEs and SPLICEs inlined) into a `Dag`."""
    dag_path = Path(path)
    dag = Dag(path=dag_path)
    _Parser(dag, dag_path, prefix="", base_dir=None).run()
    _link_edges_check(dag)
    return dag


def apply_rescue(dag: Dag, rescue_path: Path | str) -> RescueInfo:
    """Apply a rescue DAG's DONE and RETRY lines to `dag`, as DAGMan's AutoRescue does."""
    rpath = Path(rescue_path)
    failed: list[str] = []
    done: list[str] = []
    retries: dict[str, int] = {}
    text = _read(rpath, rpath, 0)
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            if line.endswith("<ENDLIST>"):
                names = line[1:].strip()[: -len("<ENDLIST>")]
                failed = [n for n in names.split(",") if n]
            continue
        if not line:
            continue
        words = line.split()
        keyword = words[0].upper()
        if keyword == "DONE" and len(words) == 2:
            node = _node(dag, words[1], rpath, lineno)
            node.done = True
            done.append(node.name)
        elif keyword == "RETRY" and len(words) in (3, 5):
            node = _node(dag, words[1], rpath, lineno)
            node.retries = _int(words[2], rpath, lineno, "RETRY count")
            retries[node.name] = node.retries
            if len(words) == 5:
                node.retry_unless_exit = _int(words[4], rpath, lineno, "UNLESS-EXIT value")
        else:
            raise DagSyntaxError(rpath, lineno, f"unexpected line in rescue file: {line!r}")
    return RescueInfo(path=rpath, done=done, failed=failed, retries=retries)


def _read(path: Path, where: Path, line: int) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise DagSyntaxError(where, line, f"cannot read {path}: {exc.strerror}") from exc


def _node(dag: Dag, name: str, path: Path, lineno: int) -> Node:
    node = dag.nodes.get(name)
    if node is None:
        raise DagSyntaxError(path, lineno, f"unknown node {name!r} (define it with JOB first)")
    return node


def _int(text: str, path: Path, lineno: int, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DagSyntaxError(path, lineno, f"{what} must be an integer, got {text!r}") from None


def _link_edges_check(dag: Dag) -> None:
    """Reject cycles up front: DAGMan would hang on them rather than fail cleanly."""
    indegree = {name: len(node.parents) for name, node in dag.nodes.items()}
    ready = [name for name, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        name = ready.pop()
        seen += 1
        for child in dag.nodes[name].children:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if seen != len(dag.nodes):
        stuck = sorted(n for n, d in indegree.items() if d > 0)
        raise DagSyntaxError(dag.path, 0, f"cycle in PARENT/CHILD edges among {stuck[:10]}")


class _Parser:
    """One file's worth of parsing; INCLUDE shares the prefix, SPLICE gets `name+`."""

    def __init__(self, dag: Dag, path: Path, prefix: str, base_dir: str | None) -> None:
        self.dag = dag
        self.path = path
        self.prefix = prefix
        self.base_dir = base_dir
        self.defined: list[str] = []
        self.all_nodes: list[tuple[int, list[str]]] = []
        self._splices: dict[str, list[str]] = {}

    def run(self) -> list[str]:
        text = _read(self.path, self.path, 0)
        handlers: dict[str, Callable[[int, str, list[str]], None]] = {}
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            words = line.split()
            keyword = words[0].upper()
            handler = handlers.get(keyword)
            if handler is None:
                handler = getattr(self, "_cmd_" + keyword.replace("-", "_").lower(), None)
                if handler is None:
                    raise DagSyntaxError(self.path, lineno, f"unknown DAG command {words[0]!r}")
                handlers[keyword] = handler
            handler(lineno, line, words)
        for lineno, words in self.all_nodes:
            for name in self.defined:
                if self.dag.nodes[name].kind != "final":
                    self._apply(lineno, words, name)
        return self.defined

    # -- helpers -----------------------------------------------------------------
    def _err(self, lineno: int, message: str) -> DagSyntaxError:
        return DagSyntaxError(self.path, lineno, message)

    def _name(self, raw: str) -> str:
        return self.prefix + raw

    def _get(self, lineno: int, raw: str) -> Node:
        return _node(self.dag, self._name(raw), self.path, lineno)

    def _dir(self, directory: str | None) -> str | None:
        if self.base_dir is None:
            return directory
        if directory is None:
            return self.base_dir
        return str(Path(self.base_dir) / directory)

    def _defer_all(self, lineno: int, words: list[str], node_index: int) -> bool:
        if words[node_index] == ALL_NODES:
            self.all_nodes.append((lineno, words))
            return True
        return False

    def _apply(self, lineno: int, words: list[str], name: str) -> None:
        keyword = words[0].upper()
        handler = getattr(self, "_set_" + keyword.replace("-", "_").lower())
        handler(lineno, words, self.dag.nodes[name])

    # -- node definitions ----------------------------------------------------------
    def _define(self, lineno: int, words: list[str], kind: str) -> None:
        if len(words) < 3:
            raise self._err(lineno, f"{words[0]} needs a node name and a file")
        raw, submit = words[1], words[2]
        if raw.upper() in _RESERVED or raw == ALL_NODES or "+" in raw:
            raise self._err(lineno, f"illegal node name {raw!r}")
        if submit == "{":
            raise self._err(lineno, "inline submit descriptions are not supported")
        name = self._name(raw)
        if name in self.dag.nodes:
            raise self._err(lineno, f"node {name!r} is defined twice")
        node = Node(name=name, submit_file=submit, kind=kind, order=len(self.dag.nodes))
        rest = words[3:]
        i = 0
        directory = None
        while i < len(rest):
            opt = rest[i].upper()
            if opt == "DIR" and i + 1 < len(rest):
                directory = rest[i + 1]
                i += 2
                continue
            if opt == "NOOP":
                node.noop = True
            elif opt == "DONE":
                node.done = True
            else:
                raise self._err(lineno, f"unexpected {rest[i]!r} after {words[0]} {raw}")
            i += 1
        node.directory = self._dir(directory)
        self.dag.nodes[name] = node
        self.defined.append(name)
        if kind == "final":
            if self.dag.final is not None:
                raise self._err(lineno, "only one FINAL node is allowed")
            self.dag.final = name

    def _cmd_job(self, lineno: int, line: str, words: list[str]) -> None:
        self._define(lineno, words, "job")

    def _cmd_final(self, lineno: int, line: str, words: list[str]) -> None:
        self._define(lineno, words, "final")

    def _cmd_subdag(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) < 2 or words[1].upper() != "EXTERNAL":
            raise self._err(lineno, "SUBDAG must be followed by EXTERNAL")
        self._define(lineno, words[1:], "subdag")

    def _cmd_splice(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) not in (3, 5):
            raise self._err(lineno, "SPLICE needs a name, a DAG file and optionally DIR d")
        directory = words[4] if len(words) == 5 and words[3].upper() == "DIR" else None
        inner_dir = self._dir(directory)
        base = self.path.parent if inner_dir is None else self.path.parent / inner_dir
        inner = _Parser(self.dag, base / words[2], self.prefix + words[1] + "+", inner_dir)
        inner.run()
        # A splice name in PARENT/CHILD stands for its initial (as child) or final (as parent)
        # nodes; keep the member list for _edge.
        self._splices[words[1]] = inner.defined
        self.defined.extend(inner.defined)

    def _cmd_include(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) != 2:
            raise self._err(lineno, "INCLUDE needs exactly one file")
        inner = _Parser(self.dag, self.path.parent / words[1], self.prefix, self.base_dir)
        self.defined.extend(inner.run())

    # -- edges -----------------------------------------------------------------------
    def _cmd_parent(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) == 4 and words[2].upper() == "CHILD" and not self._splices:
            # The planner's form, one edge per line: skip the general path.
            nodes = self.dag.nodes
            p, c = self.prefix + words[1], self.prefix + words[3]
            pnode, cnode = nodes.get(p), nodes.get(c)
            if (
                pnode is not None
                and cnode is not None
                and p != c
                and "final"
                not in (
                    pnode.kind,
                    cnode.kind,
                )
            ):
                if (p, c) not in self.dag.edges:
                    self.dag.edges.add((p, c))
                    pnode.children.append(c)
                    cnode.parents.append(p)
                return
        upper = [w.upper() for w in words]
        if "CHILD" not in upper:
            raise self._err(lineno, "PARENT line without CHILD")
        split = upper.index("CHILD")
        parents = words[1:split]
        children = words[split + 1 :]
        if not parents or not children:
            raise self._err(lineno, "PARENT ... CHILD ... needs nodes on both sides")
        parent_nodes = [n for raw in parents for n in self._members(lineno, raw, as_parent=True)]
        child_nodes = [n for raw in children for n in self._members(lineno, raw, as_parent=False)]
        for p in parent_nodes:
            pnode = self.dag.nodes[p]
            for c in child_nodes:
                if p == c:
                    raise self._err(lineno, f"node {p!r} cannot be its own parent")
                if (p, c) not in self.dag.edges:
                    self.dag.edges.add((p, c))
                    pnode.children.append(c)
                    self.dag.nodes[c].parents.append(p)

    def _members(self, lineno: int, raw: str, as_parent: bool) -> list[str]:
        members = self._splices.get(raw)
        if members is None:
            node = self._get(lineno, raw)
            if node.kind == "final":
                raise self._err(lineno, f"FINAL node {raw!r} cannot have parents or children")
            return [node.name]
        inside = set(members)
        if as_parent:
            return [m for m in members if not set(self.dag.nodes[m].children) & inside]
        return [m for m in members if not set(self.dag.nodes[m].parents) & inside]

    # -- per-node settings (ALL_NODES aware) ----------------------------------------
    def _per_node(self, lineno: int, words: list[str], minimum: int, usage: str) -> None:
        if len(words) < minimum:
            raise self._err(lineno, usage)
        if self._defer_all(lineno, words, 1):
            return
        self._apply(lineno, words, self._get(lineno, words[1]).name)

    def _cmd_retry(self, lineno: int, line: str, words: list[str]) -> None:
        self._per_node(lineno, words, 3, "RETRY needs a node and a count")

    def _set_retry(self, lineno: int, words: list[str], node: Node) -> None:
        node.retries = _int(words[2], self.path, lineno, "RETRY count")
        if len(words) == 5 and words[3].upper() == "UNLESS-EXIT":
            node.retry_unless_exit = _int(words[4], self.path, lineno, "UNLESS-EXIT value")
        elif len(words) != 3:
            raise self._err(lineno, "RETRY <node> <n> [UNLESS-EXIT <value>]")

    def _cmd_priority(self, lineno: int, line: str, words: list[str]) -> None:
        self._per_node(lineno, words, 3, "PRIORITY needs a node and a value")

    def _set_priority(self, lineno: int, words: list[str], node: Node) -> None:
        node.priority = _int(words[2], self.path, lineno, "PRIORITY")

    def _cmd_category(self, lineno: int, line: str, words: list[str]) -> None:
        self._per_node(lineno, words, 3, "CATEGORY needs a node and a category")

    def _set_category(self, lineno: int, words: list[str], node: Node) -> None:
        if node.kind == "final":
            raise self._err(lineno, "FINAL nodes may not have a category")
        category = words[2]
        node.category = category[1:] if category.startswith("+") else self.prefix + category

    def _cmd_maxjobs(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) != 3:
            raise self._err(lineno, "MAXJOBS needs a category and a limit")
        category = words[1][1:] if words[1].startswith("+") else self.prefix + words[1]
        self.dag.maxjobs[category] = _int(words[2], self.path, lineno, "MAXJOBS limit")

    def _cmd_abort_dag_on(self, lineno: int, line: str, words: list[str]) -> None:
        self._per_node(lineno, words, 3, "ABORT-DAG-ON needs a node and a value")

    def _set_abort_dag_on(self, lineno: int, words: list[str], node: Node) -> None:
        node.abort_value = _int(words[2], self.path, lineno, "ABORT-DAG-ON value")
        if len(words) == 5 and words[3].upper() == "RETURN":
            node.abort_return = _int(words[4], self.path, lineno, "ABORT-DAG-ON RETURN value")
        elif len(words) != 3:
            raise self._err(lineno, "ABORT-DAG-ON <node> <value> [RETURN <status>]")

    def _cmd_pre_skip(self, lineno: int, line: str, words: list[str]) -> None:
        self._per_node(lineno, words, 3, "PRE_SKIP needs a node and an exit code")

    def _set_pre_skip(self, lineno: int, words: list[str], node: Node) -> None:
        node.pre_skip = _int(words[2], self.path, lineno, "PRE_SKIP exit code")

    def _cmd_done(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) != 2:
            raise self._err(lineno, "DONE needs exactly one node")
        self._get(lineno, words[1]).done = True

    def _cmd_vars(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) < 3:
            raise self._err(lineno, 'VARS needs a node and name="value" pairs')
        if self._defer_all(lineno, [*words[:2], line], 1):
            return
        self._set_vars(lineno, [*words[:2], line], self._get(lineno, words[1]))

    def _set_vars(self, lineno: int, words: list[str], node: Node) -> None:
        line = words[2]
        rest = line.split(None, 2)[2] if len(line.split(None, 2)) > 2 else ""
        mode = "prepend"
        head = rest.split(None, 1)
        if head and head[0].upper() in ("PREPEND", "APPEND"):
            mode = head[0].lower()
            rest = head[1] if len(head) > 1 else ""
        pos = 0
        found = False
        while pos < len(rest):
            if rest[pos:].strip() == "":
                break
            match = _VARS_RE.match(rest, pos)
            if match is None:
                raise self._err(lineno, f'VARS expects name="value", got {rest[pos:].strip()!r}')
            name = match.group(1)
            if name.lower().startswith("queue"):
                raise self._err(lineno, f"VARS name {name!r} may not start with 'queue'")
            value = match.group(2)
            if "\\" in value:
                value = re.sub(r"\\(.)", r"\1", value)
            node.vars = [v for v in node.vars if v[0] != name]
            node.vars.append((name, value, mode))
            found = True
            pos = match.end()
        if not found:
            raise self._err(lineno, 'VARS needs at least one name="value" pair')

    def _cmd_script(self, lineno: int, line: str, words: list[str]) -> None:
        i = 1
        defer_status: int | None = None
        defer_seconds = 0
        while i < len(words) and words[i].upper() in ("DEFER", "DEBUG"):
            if words[i].upper() == "DEFER":
                if i + 2 >= len(words):
                    raise self._err(lineno, "SCRIPT DEFER needs a status and a delay")
                defer_status = _int(words[i + 1], self.path, lineno, "DEFER status")
                defer_seconds = _int(words[i + 2], self.path, lineno, "DEFER seconds")
            i += 3
        if len(words) < i + 3 or words[i].upper() not in ("PRE", "POST", "HOLD"):
            raise self._err(lineno, "SCRIPT [DEFER s t] PRE|POST|HOLD <node> <executable> [args]")
        # Normalised layout: SCRIPT kind node defer_status defer_seconds executable args...
        norm = ["SCRIPT", words[i].lower(), words[i + 1], str(defer_status), str(defer_seconds)]
        norm += words[i + 2 :]
        if self._defer_all(lineno, norm, 2):
            return
        self._set_script(lineno, norm, self._get(lineno, words[i + 1]))

    def _set_script(self, lineno: int, words: list[str], node: Node) -> None:
        status = None if words[3] == "None" else int(words[3])
        setattr(node, words[1], Script(words[1], words[5], list(words[6:]), status, int(words[4])))

    # -- whole-DAG settings ----------------------------------------------------------
    def _cmd_jobstate_log(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) != 2:
            raise self._err(lineno, "JOBSTATE_LOG needs exactly one file")
        if self.dag.jobstate_log is None:
            self.dag.jobstate_log = words[1]

    def _cmd_node_status_file(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) < 2 or len(words) > 4:
            raise self._err(lineno, "NODE_STATUS_FILE <file> [min seconds] [ALWAYS-UPDATE]")
        if self.prefix or self.dag.node_status_file is not None:
            return
        spec = NodeStatusFileSpec(words[1])
        for extra in words[2:]:
            if extra.upper() == "ALWAYS-UPDATE":
                spec.always_update = True
            else:
                spec.min_update_seconds = _int(
                    extra, self.path, lineno, "NODE_STATUS_FILE interval"
                )
        self.dag.node_status_file = spec

    def _cmd_config(self, lineno: int, line: str, words: list[str]) -> None:
        if len(words) != 2:
            raise self._err(lineno, "CONFIG needs exactly one file")
        cpath = self.path.parent / words[1]
        for clineno, raw in enumerate(_read(cpath, self.path, lineno).splitlines(), 1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            if "=" not in text:
                raise DagSyntaxError(cpath, clineno, f"expected KEY = value, got {text!r}")
            key, value = text.split("=", 1)
            self.dag.config[key.strip().upper()] = value.strip()

    def _ignored(self, lineno: int, line: str, words: list[str]) -> None:
        self.dag.warnings.append(f"{self.path}:{lineno}: {words[0]} is ignored by the local engine")

    _cmd_dot = _ignored
    _cmd_set_job_attr = _ignored
    _cmd_env = _ignored
    _cmd_save_point_file = _ignored
    _cmd_reject = _ignored
