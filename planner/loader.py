"""Read Pegasus 5.0 YAML documents into `planner.spec` models; report every problem with its line.

Two paths, because a 100k-job workflow is ~80 MB of YAML and line tracking is what makes YAML slow:

- Fast path (every load): `yaml_rs` (a Rust YAML parser; PyYAML's C loader is ~15x slower on big
  workflows) turns the text into plain Python data, and pydantic-core validates it into the frozen
  spec dataclasses in one pass that collects *all* schema problems.
- Error path (only when there are problems): PyYAML composes the text into nodes with marks, and
  each problem's field path (`jobs[3].uses[0].type`) is walked down that node tree to its line.

So a valid document never pays for line numbers, and an invalid one reports every problem at
once (raised together as `SpecError`), each like
`wf.yml:41: jobs[3].uses[0].type: 'inptu' is not one of none, input, output, inout, checkpoint`.

YAML dialect: documents are read as YAML 1.2 core (what `yaml_rs` implements), so timestamps stay
strings and `yes`/`no`/`on`/`off` are strings; boolean fields still accept those words (and
`true`/`false`/`1`/`0`), so hand-written YAML 1.1 documents keep working. Everything `Pegasus.api`
writes (PyYAML quotes ambiguous scalars) reads back the same under both. Duplicate mapping keys
are errors.

Catalogs may use `${VAR}` references (as Pegasus's site and transformation catalogs do); they are
expanded only when the caller passes an environment (`env=`), never from the server's own
environment implicitly: an uploaded catalog must not be able to read the gateway's variables.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import functools
import gc
import itertools
import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import TypeAdapter, ValidationError

from planner.errors import Problem, SpecError
from planner.spec import (
    JOB_TYPES,
    AnyJob,
    ReplicaCatalog,
    SiteCatalog,
    TransformationCatalog,
    Workflow,
)

_yaml_rs: Any
try:  # the fast parser; PyYAML's C loader is the (much slower) fallback
    import yaml_rs as _yaml_rs
except ImportError:  # pragma: no cover - exercised only where yaml-rs is not installed
    _yaml_rs = None

__all__ = [
    "format_path",
    "load_replica_catalog",
    "load_site_catalog",
    "load_transformation_catalog",
    "load_workflow",
    "loads_replica_catalog",
    "loads_site_catalog",
    "loads_transformation_catalog",
    "loads_workflow",
    "locate",
    "parse_path",
]

T = TypeVar("T")
PathElement = str | int

_DISPATCH_TAGS = frozenset({*JOB_TYPES, "ref", "inline"})
"""Pydantic puts a union's chosen tag in an error's location; it is not part of the document."""


# --------------------------------------------------------------------------- public API


def load_workflow(path: str | Path) -> Workflow:
    """Load and validate an abstract workflow file; raise `SpecError` listing every problem."""
    file, text = _read(path)
    wf = loads_workflow(text, file=file)
    return wf


def loads_workflow(text: str, *, file: str = "<string>") -> Workflow:
    """Like `load_workflow`, from text; `file` is the name used in problems."""
    wf = _load(text, file, Workflow, kind="workflow")
    _set_source(wf, file, "")
    if wf.replica_catalog is not None:
        _set_source(wf.replica_catalog, file, "replicaCatalog")
    if wf.transformation_catalog is not None:
        _set_source(wf.transformation_catalog, file, "transformationCatalog")
    if isinstance(wf.site_catalog, SiteCatalog):
        _set_source(wf.site_catalog, file, "siteCatalog")
    return wf


def load_replica_catalog(path: str | Path) -> ReplicaCatalog:
    """Load a standalone replica catalog (`rc-5.0.yml`).

    The schema requires a top-level `pegasus` version in standalone catalogs; like Pegasus itself
    we do not (hosted catalogs such as OSPool's omit it).
    """
    file, text = _read(path)
    return loads_replica_catalog(text, file=file)


def loads_replica_catalog(text: str, *, file: str = "<string>") -> ReplicaCatalog:
    rc = _load(text, file, ReplicaCatalog, kind="replica catalog")
    _set_source(rc, file, "")
    return rc


def load_transformation_catalog(
    path: str | Path, *, env: Mapping[str, str] | None = None
) -> TransformationCatalog:
    """Load a standalone transformation catalog; `${VAR}`s are expanded from `env` if given."""
    file, text = _read(path)
    return loads_transformation_catalog(text, file=file, env=env)


def loads_transformation_catalog(
    text: str, *, file: str = "<string>", env: Mapping[str, str] | None = None
) -> TransformationCatalog:
    tc = _load(
        text,
        file,
        TransformationCatalog,
        kind="transformation catalog",
        env=env,
    )
    _set_source(tc, file, "")
    return tc


def load_site_catalog(path: str | Path, *, env: Mapping[str, str] | None = None) -> SiteCatalog:
    """Load a standalone site catalog; `${VAR}`s are expanded from `env` if given."""
    file, text = _read(path)
    return loads_site_catalog(text, file=file, env=env)


def loads_site_catalog(
    text: str, *, file: str = "<string>", env: Mapping[str, str] | None = None
) -> SiteCatalog:
    sc = _load(text, file, SiteCatalog, kind="site catalog", env=env)
    _set_source(sc, file, "")
    return sc


def format_path(elements: Iterable[PathElement]) -> str:
    """`("jobs", 3, "uses", 0, "type")` → `jobs[3].uses[0].type`."""
    out: list[str] = []
    for el in elements:
        if isinstance(el, int):
            out.append(f"[{el}]")
        elif out:
            out.append(f".{el}")
        else:
            out.append(str(el))
    return "".join(out)


_PATH_TOKEN = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def parse_path(path: str) -> list[PathElement]:
    """The inverse of `format_path` for keys without dots or brackets."""
    out: list[PathElement] = []
    for m in _PATH_TOKEN.finditer(path):
        if m.group(1) is not None:
            out.append(int(m.group(1)))
        else:
            out.append(m.group(2))
    return out


def locate(problems: Sequence[Problem], texts: Mapping[str, str] | None = None) -> list[Problem]:
    """Fill in the line of problems that have a file and path but no line yet.

    Semantic checks work on models, which do not keep line numbers (that would slow every load);
    this re-reads each named file once (or takes its text from `texts`) and walks the paths.
    Paths may carry a prefix such as `transformationCatalog.` for inline catalogs.
    """
    todo: dict[str, list[int]] = {}
    for i, p in enumerate(problems):
        if p.line is None and p.file and p.path:
            todo.setdefault(p.file, []).append(i)
    if not todo:
        return list(problems)
    out = list(problems)
    for file, idxs in todo.items():
        text = texts.get(file) if texts else None
        if text is None:
            try:
                text = Path(file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
        locator = _make_locator(text)
        for i in idxs:
            p = out[i]
            out[i] = Problem(p.file, locator.line_of(parse_path(p.path)), p.path, p.message, p.code)
    return out


# --------------------------------------------------------------------------- internals


def _read(path: str | Path) -> tuple[str, str]:
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise SpecError([Problem(file, None, "", "file not found", "io")]) from None
    except OSError as exc:
        raise SpecError([Problem(file, None, "", f"cannot read: {exc.strerror}", "io")]) from exc
    try:
        return file, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        msg = f"not UTF-8 text (byte {exc.start})"
        raise SpecError([Problem(file, line, "", msg, "syntax")]) from exc


def _set_source(obj: Any, file: str, prefix: str) -> None:
    """Remember where a model came from, so later semantic problems can name file and field."""
    object.__setattr__(obj, "source_file", file)
    object.__setattr__(obj, "source_prefix", prefix)


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(model: type[T]) -> TypeAdapter[T]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


def _load(
    text: str,
    file: str,
    model: type[T],
    *,
    kind: str,
    env: Mapping[str, str] | None = None,
) -> T:
    if text.startswith("\ufeff"):  # a byte-order mark, as some Windows editors write
        text = text[1:]
    if model is Workflow and len(text) >= _CHUNKED_MIN_CHARS:
        with gc_paused():
            chunked = _load_workflow_in_chunks(text, file)
        if chunked is not None:
            return chunked  # type: ignore[return-value]
    with gc_paused():
        return _load_whole(text, file, model, kind=kind, env=env)


def _load_whole(
    text: str,
    file: str,
    model: type[T],
    *,
    kind: str,
    env: Mapping[str, str] | None = None,
) -> T:
    data = _parse(text, file)
    problems: list[Problem] = []
    if data is None:
        raise SpecError(
            [Problem(file, 1, "", f"the document is empty (expected a {kind})", "empty")]
        )
    if isinstance(data, list) and _MANY_DOCS.search(text) and len(data) > 1:
        n = len(data)
        msg = f"the file holds {n} YAML documents (separated by ---); expected one {kind}"
        raise SpecError([Problem(file, 1, "", msg, "syntax")])
    if not isinstance(data, dict):
        got = type(data).__name__
        raise SpecError(
            [Problem(file, 1, "", f"expected a {kind} (a mapping) at the top, got a {got}")]
        )
    locator = _LazyLocator(text)
    if env is not None:
        data = _expand(data, env, [], file, locator, problems)
    try:
        obj = _adapter(model).validate_python(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, data, file, locator, root=model))
        obj = None
    if problems:
        raise SpecError(_dedupe(sorted(problems, key=_order)))
    assert obj is not None
    return obj


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small objects.

    Each allocation burst triggers collections that walk every live object, which made loading
    a 100k-job workflow 3x slower; spec objects form no reference cycles, so nothing is lost.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_CHUNKED_MIN_CHARS = 4 << 20
"""Workflows at least this big are parsed job chunk by job chunk (bounded peak memory)."""
_CHUNK_JOBS = 4000
_JOBS_KEY = re.compile(r"^jobs:[ \t]*(?:#.*)?\r?$", re.M)
_NEXT_TOP_LEVEL = re.compile(r"\n(?:[^ \t#\-\r\n]|-[^ \t\r\n]|---|\.\.\.)")
_FIRST_ITEM = re.compile(r"\n( *)-(?:[ \t]|\r?\n)")


def _split_jobs(text: str) -> tuple[int, int, list[int]] | None:
    """Where the `jobs:` block of a block-style workflow is: (body start, body end, item starts
    relative to the body start), or None when the document is not laid out that way.

    Scans with `str.find` and newline-anchored patterns: a 160 MB document takes ~0.1 s."""
    m = _JOBS_KEY.search(text)
    if m is None:
        return None
    nl = text.find("\n", m.end() - 1)
    if nl < 0:
        return None
    body_start = nl + 1
    end_m = _NEXT_TOP_LEVEL.search(text, nl)
    body_end = end_m.start() + 1 if end_m else len(text)
    first = _FIRST_ITEM.search(text, nl, body_end)
    if first is None:
        return None
    needle = "\n" + first.group(1) + "-"
    starts: list[int] = []
    pos = first.start()
    find = text.find
    while 0 <= pos < body_end:
        after = text[pos + len(needle) : pos + len(needle) + 1]
        if after in (" ", "\t", "\n", "\r"):
            starts.append(pos + 1 - body_start)
        pos = find(needle, pos + 1, body_end)
    return body_start, body_end, starts


def _load_workflow_in_chunks(text: str, file: str) -> Workflow | None:
    """Parse and validate the `jobs:` block a few thousand jobs at a time.

    The raw data of a whole 100k-job document is ~1 GB of dicts and strings before validation
    turns it into far smaller frozen models; handling the job list in slices keeps only one
    slice's raw data alive. This needs the block layout `Pegasus.api` writes (a `jobs:` key at
    column 0 followed by `- ` items); anything else, including anchors shared between jobs or
    any parse error, returns None and the whole document is read the ordinary way.
    """
    split = _split_jobs(text)
    if split is None:
        return None
    body_start, body_end, starts = split
    if len(starts) < 2 * _CHUNK_JOBS:
        return None
    bounds = [*starts[::_CHUNK_JOBS], body_end - body_start]
    if _yaml_rs is None:  # pragma: no cover - the fallback parser gains nothing from chunks
        return None
    try:
        rest = _yaml_rs.loads(text[:body_start] + text[body_end:], parse_datetime=False)
    except Exception:
        return None
    if not isinstance(rest, dict) or rest.get("jobs") is not None:
        return None
    adapter = _adapter(tuple[AnyJob, ...])
    jobs: list[Any] = []
    problems: list[Problem] = []
    locator = _LazyLocator(text)
    first_raw: Any = None
    for a, b in itertools.pairwise(bounds):
        try:
            piece = text[body_start + a : body_start + b]  # slices, never a copy of all jobs
            raw = _yaml_rs.loads("jobs:\n" + piece, parse_datetime=False)
            del piece
        except Exception:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("jobs"), list):
            return None
        chunk = raw["jobs"]
        if first_raw is None and chunk:
            first_raw = chunk[0]
        try:
            jobs.extend(adapter.validate_python(chunk, by_alias=True, by_name=False))
        except ValidationError as exc:
            before = bisect.bisect_left(starts, a)  # jobs in earlier chunks
            problems.extend(
                _problems_from(
                    exc,
                    {"jobs": chunk},
                    file,
                    locator,
                    prefix=("jobs",),
                    shift=before,
                    root=tuple[AnyJob, ...],
                )
            )
        del raw, chunk
    rest["jobs"] = [first_raw] if first_raw is not None else []
    try:
        shell = _adapter(Workflow).validate_python(rest, by_alias=True, by_name=False)
    except ValidationError as exc:
        for p in _problems_from(exc, rest, file, locator, root=Workflow):
            if not (p.path == "jobs" or p.path.startswith("jobs[")):
                problems.append(p)
        shell = None
    if problems:
        raise SpecError(_dedupe(sorted(problems, key=_order)))
    assert shell is not None
    object.__setattr__(shell, "jobs", tuple(jobs))
    return shell


def _order(p: Problem) -> tuple[int, str]:
    return (p.line or 0, p.path)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for p in problems:
        key = (p.file, p.line, p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


_RS_LINE = re.compile(r"line (\d+)")
_MANY_DOCS = re.compile(r"^---", re.M)


def _parse(text: str, file: str) -> Any:
    if _yaml_rs is not None:
        try:
            return _yaml_rs.loads(text, parse_datetime=False)
        except Exception as exc:  # yaml_rs raises its own YAMLDecodeError (and ValueError)
            raise SpecError(_diagnose_syntax(text, file, str(exc))) from exc
    try:  # pragma: no cover - fallback
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:  # pragma: no cover
        raise SpecError(_diagnose_syntax(text, file, str(exc))) from exc


def _diagnose_syntax(text: str, file: str, fast_message: str) -> list[Problem]:
    """Explain a parse failure with a line: PyYAML's marks, or our own duplicate-key walk."""
    try:
        root = yaml.compose(text, Loader=_node_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or str(exc)
        if exc.context:
            what = f"{what} ({exc.context})"
        if line is not None:
            bad = text.splitlines()[line - 1 : line] or [""]
            if "\t" in bad[0][: len(bad[0]) - len(bad[0].lstrip())]:
                what += "; tabs cannot indent YAML, use spaces"
        return [Problem(file, line, "", f"YAML syntax error: {what}", "syntax")]
    except yaml.YAMLError as exc:
        return [Problem(file, None, "", f"YAML syntax error: {exc}", "syntax")]
    dups = _duplicate_keys(root, file) if root is not None else []
    if dups:
        return dups
    m = _RS_LINE.search(fast_message)
    line = int(m.group(1)) if m else None
    first = fast_message.strip().splitlines()[0] if fast_message.strip() else "unreadable YAML"
    return [Problem(file, line, "", f"YAML syntax error: {first}", "syntax")]


def _duplicate_keys(root: yaml.Node, file: str) -> list[Problem]:
    out: list[Problem] = []
    stack: list[tuple[yaml.Node, list[PathElement]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
                if key in seen:
                    out.append(
                        Problem(
                            file,
                            k.start_mark.line + 1,
                            format_path([*path, key]),
                            f"duplicate key {key!r}",
                            "syntax",
                        )
                    )
                seen.add(key)
                stack.append((v, [*path, key]))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, [*path, i]))
    return sorted(out, key=_order)


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(
    data: Any,
    env: Mapping[str, str],
    path: list[PathElement],
    file: str,
    locator: _LazyLocator,
    problems: list[Problem],
) -> Any:
    """Replace `${VAR}` in every string of a catalog; unknown variables are problems."""
    if isinstance(data, str):
        if "${" not in data:
            return data

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in env:
                return env[name]
            problems.append(
                Problem(
                    file,
                    locator.line_of(path),
                    format_path(path),
                    f"undefined variable ${{{name}}}",
                    "undefined-variable",
                )
            )
            return m.group(0)

        return _VAR.sub(sub, data)
    if isinstance(data, dict):
        return {k: _expand(v, env, [*path, k], file, locator, problems) for k, v in data.items()}
    if isinstance(data, list):
        return [_expand(v, env, [*path, i], file, locator, problems) for i, v in enumerate(data)]
    return data


# --------------------------------------------------------------------------- validation problems


def _problems_from(
    exc: ValidationError,
    data: Any,
    file: str,
    locator: _LazyLocator | None,
    prefix: tuple[str | int, ...] = (),
    shift: int = 0,
    root: Any = None,
) -> list[Problem]:
    """Problems of a validation error; `prefix`/`shift` place a slice of jobs in its document,
    `root` is the validated type (for suggesting the keys allowed where an unknown one is)."""
    errors = exc.errors(include_url=False)
    cleaned = [(_clean_loc((*prefix, *e["loc"]), data), e) for e in errors]
    if shift:
        for loc, _ in cleaned:
            if len(loc) >= 2 and loc[0] == "jobs" and isinstance(loc[1], int):
                loc[1] += shift
    # A list that failed item validation is also reported "too short" (0 valid items): noise.
    prefixes = {tuple(loc[:-1]) for loc, _ in cleaned if loc} | {
        tuple(loc) for loc, e in cleaned if e["type"] not in ("too_short",)
    }
    out: list[Problem] = []
    for loc, err in cleaned:
        if err["type"] == "too_short" and any(
            p[: len(loc)] == tuple(loc) and len(p) > len(loc) for p in prefixes
        ):
            continue
        allowed = _keys_at(root, err["loc"]) if root is not None else None
        loc, message = _message(loc, err, allowed)
        line = locator.line_of(loc) if locator is not None else None
        out.append(Problem(file, line, format_path(loc), message))
    return out


def _clean_loc(loc: Sequence[str | int], data: Any) -> list[PathElement]:
    """Drop the union tags pydantic adds, keeping only keys and indexes of the document."""
    out: list[PathElement] = []
    cur: Any = data
    for el in loc:
        if el == "[key]":
            continue
        if isinstance(cur, dict):
            if el in cur:
                out.append(el)
                cur = cur[el]
                continue
            if el in _DISPATCH_TAGS:
                continue
        elif isinstance(cur, list) and isinstance(el, int) and 0 <= el < len(cur):
            out.append(el)
            cur = cur[el]
            continue
        elif el in _DISPATCH_TAGS and not isinstance(el, int):
            continue
        out.append(el)
        cur = None
    return out


_QUOTED = re.compile(r"'([^']*)'")


def _allowed(expected: str) -> str:
    return ", ".join(_QUOTED.findall(expected)) or expected


def _what(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _unwrap(tp: Any) -> Any:
    """Strip `Annotated[...]` and `X | None` down to the interesting type (or union members)."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return members
            tp = members[0]
        else:
            return tp


def _union_member(members: list[Any], tag: object) -> Any:
    for m in members:
        base: Any = m
        meta: tuple[Any, ...] = ()
        if typing.get_origin(m) is typing.Annotated:
            base, *rest = typing.get_args(m)
            meta = tuple(rest)
        base = _unwrap(base)
        tags = {getattr(x, "tag", None) for x in meta}
        infos = getattr(base, "__pydantic_fields__", {})
        type_default = infos["type"].default if "type" in infos else None
        if tag in tags or tag == type_default or tag == getattr(base, "__name__", None):
            return base
    return None


def _keys_at(root: Any, raw_loc: Sequence[str | int]) -> list[str] | None:
    """The YAML keys the model accepts at the object holding `raw_loc`'s last element."""
    tp: Any = root
    for el in raw_loc[:-1]:
        tp = _unwrap(tp)
        if isinstance(tp, list):
            tp = _union_member(tp, el)
            if tp is None:
                return None
            continue
        infos = getattr(tp, "__pydantic_fields__", None)
        origin = typing.get_origin(tp)
        if infos is not None:
            match = [f for name, f in infos.items() if el in (name, f.validation_alias)]
            if not match:
                return None
            tp = match[0].annotation
        elif origin in (tuple, list):
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    infos = getattr(tp, "__pydantic_fields__", None)
    if infos is None:
        return None
    return [
        f.validation_alias if isinstance(f.validation_alias, str) else name
        for name, f in infos.items()
        if f.init is not False
    ]


_PATTERN_HELP = {
    r"^[\-0-9a-zA-Z_]+$": "is not a valid id (letters, digits, '-' and '_' only)",
    r"^[0-9]+(\.[0-9]+(\.[0-9]+)?)?$": "is not a version (like 5.0 or 5.0.4)",
    r"^[^/\s]+$": "is not a valid name (no '/' or spaces)",
}


def _message(
    loc: list[PathElement], err: Any, allowed: list[str] | None = None
) -> tuple[list[PathElement], str]:
    kind: str = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        return loc, f"{_what(value)} is not one of {_allowed(ctx.get('expected', ''))}"
    if kind == "union_tag_invalid":
        tags = _allowed(ctx.get("expected_tags", ""))
        return [*loc, "type"], f"{ctx.get('tag')!r} is not one of {tags}"
    if kind == "union_tag_not_found":
        if isinstance(value, dict):
            return [*loc, "type"], f"required field is missing (one of {', '.join(JOB_TYPES)})"
        return loc, f"expected a mapping, got {_what(value)}"
    if kind == "missing":
        return loc, "required field is missing"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        key = loc[-1] if loc else "?"
        hint = ""
        if isinstance(key, str):
            known = [k for k in (allowed or []) if k != key]
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            if close:
                hint = f" (did you mean {close[0]!r}?)"
        return loc, f"unknown field {key!r}{hint}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        help_ = _PATTERN_HELP.get(pattern, f"does not match {pattern}")
        if err["loc"] and err["loc"][-1] == "[key]":
            return loc, f"key {value!r} {help_}"
        return loc, f"{_what(value)} {help_}"
    if kind in ("string_type", "str_type"):
        hint = " (quote it in YAML)" if isinstance(value, (int, float)) else ""
        return loc, f"expected a string, got {_what(value)}{hint}"
    if kind in ("bool_type", "bool_parsing"):
        return loc, f"expected true or false, got {_what(value)}"
    if kind in ("dict_type", "dataclass_type", "model_type", "mapping_type", "dataclass_args_type"):
        return loc, f"expected a mapping, got {_what(value)}"
    if kind in ("list_type", "tuple_type", "iterable_type"):
        return loc, f"expected a list, got {_what(value)}"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        return loc, f"expected a number, got {_what(value)}"
    if kind == "greater_than_equal":
        ge = ctx.get("ge")
        if isinstance(ge, float) and ge.is_integer():
            ge = int(ge)
        return loc, f"must be at least {ge}, got {value}"
    if kind == "too_short":
        if ctx.get("field_type") in ("Tuple", "List"):
            return loc, f"must have at least {ctx.get('min_length')} item(s)"
        return loc, "must not be empty"
    if kind == "value_error":
        return loc, str(ctx.get("error", err.get("msg")))
    return loc, str(err.get("msg"))


# --------------------------------------------------------------------------- line lookup


@functools.cache
def _node_loader() -> type:
    """PyYAML's C loader when available; composing is all we use it for."""
    loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


class _Locator:
    """Maps document paths to 1-based line numbers by walking PyYAML's composed node tree."""

    def __init__(self, text: str) -> None:
        try:
            self.root: yaml.Node | None = yaml.compose(text, Loader=_node_loader())
        except yaml.YAMLError:
            self.root = None

    def line_of(self, path: Sequence[PathElement]) -> int | None:
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        elements = list(path)
        i = 0
        while i < len(elements):
            el = elements[i]
            i += 1
            if isinstance(node, yaml.MappingNode):
                keys = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
                key = str(el)
                # keys may hold dots (`os.type`, `execution.site`) that a path string split
                while key not in keys and i < len(elements) and isinstance(elements[i], str):
                    key = f"{key}.{elements[i]}"
                    i += 1
                if key not in keys:
                    return line
                k, node = keys[key]
                line = k.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(el, int):
                if not 0 <= el < len(node.value):
                    return line
                node = node.value[el]
                line = node.start_mark.line + 1
            else:
                return line
        if isinstance(node, yaml.ScalarNode):
            line = node.start_mark.line + 1
        return line


_BIG_BLOCK = 1 << 20
"""Top-level values bigger than this are located item by item."""
_TOP_KEY = re.compile(r"\n(?=[^ \t#\-\r\n])")
_KEY_OF_LINE = re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^:#]+?))[ \t]*:(?:[ \t]|\r?$)""")


class _BlockLocator:
    """Line look-up for big documents without composing all of them (minutes and gigabytes at
    100k jobs): a path is walked in the text of its top-level key alone, and inside a big list
    (`jobs`, `jobDependencies`) in the text of its one item; line numbers are offset back.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._blocks: dict[str, tuple[int, int]] = {}
        starts = [0] + [m.start() + 1 for m in _TOP_KEY.finditer(text)]
        for a, b in itertools.pairwise([*starts, len(text)]):
            line_end = text.find("\n", a, b)
            km = _KEY_OF_LINE.match(text[a : line_end if line_end >= 0 else b])
            if km:
                key = next(g for g in km.groups() if g is not None).strip()
                self._blocks.setdefault(key, (a, b))
        self._items: dict[str, list[int]] = {}
        self._cache: dict[tuple[str, int], _Locator] = {}

    def _item_starts(self, key: str, a: int, b: int) -> list[int]:
        if key not in self._items:
            text = self._text
            nl = text.find("\n", a, b)
            first = _FIRST_ITEM.search(text, nl, b) if nl >= 0 else None
            found: list[int] = []
            if first is not None:
                needle = "\n" + first.group(1) + "-"
                pos = first.start()
                while 0 <= pos < b:
                    after = text[pos + len(needle) : pos + len(needle) + 1]
                    if after in (" ", "\t", "\n", "\r"):
                        found.append(pos + 1)
                    pos = text.find(needle, pos + 1, b)
            self._items[key] = found
        return self._items[key]

    def line_of(self, path: Sequence[PathElement]) -> int | None:
        text = self._text
        if not path or str(path[0]) not in self._blocks:
            first = min((a for a, _ in self._blocks.values()), default=0)
            return text.count("\n", 0, first) + 1
        key = str(path[0])
        a, b = self._blocks[key]
        if b - a > _BIG_BLOCK and len(path) >= 2 and isinstance(path[1], int):
            items = self._item_starts(key, a, b)
            i = path[1]
            if 0 <= i < len(items):
                ia = items[i]
                ib = items[i + 1] if i + 1 < len(items) else b
                loc = self._cache.get((key, i))
                if loc is None:
                    loc = self._cache[(key, i)] = _Locator(f"{key}:\n" + text[ia:ib])
                inner = loc.line_of([key, 0, *path[2:]])
                if inner is not None:
                    return text.count("\n", 0, ia) + inner - 1
        loc = self._cache.get((key, -1))
        if loc is None:
            loc = self._cache[(key, -1)] = _Locator(text[a:b])
        inner = loc.line_of(path)
        return None if inner is None else text.count("\n", 0, a) + inner


def _make_locator(text: str) -> _Locator | _BlockLocator:
    if len(text) >= _CHUNKED_MIN_CHARS:
        return _BlockLocator(text)
    return _Locator(text)


class _LazyLocator:
    """Composes the document only when the first line is asked for (i.e. only on errors)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._locator: _Locator | _BlockLocator | None = None

    def line_of(self, path: Sequence[PathElement]) -> int | None:
        if self._locator is None:
            self._locator = _make_locator(self._text)
        return self._locator.line_of(path)
