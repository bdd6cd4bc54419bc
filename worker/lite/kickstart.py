"""Reader for pegasus-kickstart's YAML invocation records (standard library only).

Kickstart prints a YAML list (``- invocation: True`` …) on the job's stdout, sometimes after other
text (batch-system prologues, cluster-task lines) and followed by multipart sections (after a
``---------------pegasus-multipart`` line: ``- integrity_summary:``, ``- transfer_attempts:``).
The job wrapper cannot depend on PyYAML, and the subset kickstart writes is small and
regular: block mappings and sequences by indentation, ``|`` literal blocks for stdout/stderr
``data``, plain and double-quoted scalars.  So this module reads just that subset, and reads it
leniently: a stretch it cannot make sense of is skipped, never fatal, because a judge must still
give a verdict on a half-written file.

``parse(text)`` returns every top-level list item that is a mapping, in order (invocation records
have ``"invocation": True``; multipart items have their own first key).  Scalars become ``int``,
``float``, ``bool``, ``None`` or ``str``; timestamps and ``0o`` modes stay strings.
``to_invocation(record)`` maps one kickstart record onto our ``aerie.invocation`` field names.
``record_fields(record)`` says where each field sits in a record; it is shared with the
importer's reader (``worker.pegasus_import.kickstart``), which parses records with libyaml
instead (15x faster on a large Pegasus run, but not available inside the job wrapper) and
converts the same fields to its provenance types.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# YAML 1.1 as PyYAML resolves it (what Pegasus reads kickstart records with): a float needs a dot.
_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$")
_KEY = re.compile(r'^("(?:[^"\\]|\\.)*"|\'(?:[^\']|\'\')*\'|[^\s"\'#][^:]*?)\s*:(?:\s+(.*)|)$')
MULTIPART = "---------------pegasus-multipart"


def scalar(text: str) -> Any:
    """One YAML scalar of kickstart's subset."""
    s = text.strip()
    if not s or s in ("~", "null", "Null", "NULL"):
        return None
    if s[0] == '"':
        try:
            return json.loads(s)
        except ValueError:
            return s.strip('"')
    if s[0] == "'":
        return s[1:-1].replace("''", "'") if s.endswith("'") and len(s) > 1 else s[1:]
    if s in ("True", "true", "TRUE"):
        return True
    if s in ("False", "false", "FALSE"):
        return False
    if _INT.match(s):
        return int(s.replace("_", ""))
    if _FLOAT.match(s) and s not in (".", "-.", "+."):
        return float(s.replace("_", ""))
    return s


class _Parser:
    def __init__(self, lines: list[str]) -> None:
        # (indent, text) per non-blank line; blank lines are kept for literal blocks.
        self.lines: list[tuple[int, str]] = []
        for raw in lines:
            stripped = raw.lstrip(" ")
            self.lines.append((len(raw) - len(stripped), stripped.rstrip("\r")))
        self.i = 0

    def _skip_blank(self) -> None:
        while self.i < len(self.lines) and not self.lines[self.i][1]:
            self.i += 1

    def _peek(self) -> tuple[int, str] | None:
        self._skip_blank()
        return self.lines[self.i] if self.i < len(self.lines) else None

    def block(self, indent: int) -> Any:
        nxt = self._peek()
        if nxt is None or nxt[0] < indent:
            return None
        if nxt[1] == "-" or nxt[1].startswith("- "):
            return self.sequence(nxt[0])
        return self.mapping(nxt[0])

    def sequence(self, indent: int) -> list[Any]:
        out: list[Any] = []
        while True:
            nxt = self._peek()
            if nxt is None or nxt[0] != indent or not (nxt[1] == "-" or nxt[1].startswith("- ")):
                return out
            rest = nxt[1][2:].lstrip(" ") if len(nxt[1]) > 1 else ""
            inner = indent + 2 + (len(nxt[1]) - 2 - len(nxt[1][2:].lstrip(" ")))
            if not rest:
                self.i += 1
                out.append(self.block(indent + 1))
            elif rest == "-" or rest.startswith("- "):
                self.lines[self.i] = (inner, rest)  # "- - x": a sequence in a sequence
                out.append(self.sequence(inner))
            elif _KEY.match(rest) and not (rest.startswith('"') and _is_quoted_scalar(rest)):
                # "- key: value" opens a mapping whose keys sit two columns in.
                self.lines[self.i] = (inner, rest)
                out.append(self.mapping(inner))
            else:
                self.i += 1
                out.append(scalar(rest))

    def mapping(self, indent: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            nxt = self._peek()
            if nxt is None or nxt[0] != indent or nxt[1] == "-" or nxt[1].startswith("- "):
                return out
            m = _KEY.match(nxt[1])
            self.i += 1
            if not m:
                continue  # not YAML we understand: skip the line
            key = m.group(1)
            if key[0] in "\"'":
                key = scalar(key)
            value = (m.group(2) or "").strip()
            if value in ("|", "|-", "|+", ">", ">-"):
                out[key] = self.literal(indent, value)
            elif value:
                out[key] = scalar(value)
            else:
                child = self._peek()
                if child is not None and (
                    child[0] > indent
                    or (child[0] == indent and (child[1] == "-" or child[1].startswith("- ")))
                ):
                    out[key] = self.block(child[0])
                else:
                    out[key] = None

    def literal(self, indent: int, style: str) -> str:
        body: list[tuple[int, str]] = []
        while self.i < len(self.lines):
            ind, text = self.lines[self.i]
            if text and ind <= indent:
                break
            body.append((ind, text))
            self.i += 1
        while body and not body[-1][1]:
            body.pop()
        if not body:
            return ""
        base = min(ind for ind, text in body if text)
        text = "\n".join((" " * (ind - base) + t) if t else "" for ind, t in body)
        if style.startswith(">"):
            text = text.replace("\n", " ")
        return text if style.endswith("-") else text + "\n"


def _is_quoted_scalar(s: str) -> bool:
    try:
        json.loads(s)
    except ValueError:
        return False
    return True


def _documents(text: str) -> list[list[str]]:
    """Stretches of lines that look like a top-level YAML list, junk between them dropped."""
    docs: list[list[str]] = []
    cur: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("- ") or line == "-":
            if cur is None:
                cur = []
                docs.append(cur)
            cur.append(line)
        elif cur is not None and (not line.strip() or line.startswith(" ")):
            cur.append(line)
        else:
            cur = None  # column-0 junk, the multipart separator, a [cluster-task] line…
    return docs


def parse(text: str) -> list[dict[str, Any]]:
    """All top-level mapping items of the kickstart YAML in ``text`` (invocations and multipart)."""
    out: list[dict[str, Any]] = []
    for doc in _documents(text):
        p = _Parser(doc)
        while p._peek() is not None:
            start = p.i
            try:
                items = p.sequence(p.lines[p.i][0]) if p.lines[p.i][0] == 0 else []
            except (IndexError, ValueError, RecursionError):
                items = []
            out.extend(item for item in items if isinstance(item, dict))
            if p.i == start:
                p.i += 1  # something we cannot read: move on
    return out


def invocations(text: str) -> list[dict[str, Any]]:
    """Only the ``- invocation: True`` records, in order."""
    return [r for r in parse(text) if r.get("invocation") is True]


def _num(v: Any, default: float = 0.0) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default


@dataclass(frozen=True)
class RecordFields:
    """The values of one kickstart record that provenance keeps, as found (not yet converted).

    ``start``/``duration`` are the main job's (as monitord uses them), falling back to the
    record's own; ``args`` leaves out the executable; ``files`` keeps the mapping entries.
    """

    derivation: Any
    transformation: Any
    resource: Any
    wf_label: Any
    hostname: Any
    hostaddr: Any
    user: Any
    uid: Any
    cwd: Any
    executable: Any
    args: list[str]
    start: Any
    duration: Any
    raw: Any
    regular_exitcode: Any
    signalled_signal: Any
    utime: Any
    stime: Any
    maxrss: Any
    machine: dict[str, Any]
    files: dict[str, dict[str, Any]]


def record_fields(rec: dict[str, Any]) -> RecordFields:
    """Where each field sits in a kickstart record (Pegasus 5 YAML), for both record readers."""
    main = rec.get("mainjob") or {}
    usage = main.get("usage") or {}
    status = main.get("status") or {}
    files = rec.get("files") or {}
    return RecordFields(
        derivation=rec.get("derivation"),
        transformation=rec.get("transformation"),
        resource=rec.get("resource"),
        wf_label=rec.get("wf-label"),
        hostname=rec.get("hostname"),
        hostaddr=rec.get("hostaddr"),
        user=rec.get("user"),
        uid=rec.get("uid"),
        cwd=rec.get("cwd"),
        executable=(main.get("executable") or {}).get("file_name"),
        args=[str(a) for a in (main.get("argument_vector") or []) if a is not None],
        start=main.get("start", rec.get("start")),
        duration=main.get("duration", rec.get("duration")),
        raw=status.get("raw"),
        regular_exitcode=status.get("regular_exitcode"),
        signalled_signal=status.get("signalled_signal"),
        utime=usage.get("utime"),
        stime=usage.get("stime"),
        maxrss=usage.get("maxrss"),
        machine=rec.get("machine") or {},
        files={str(k): v for k, v in files.items() if isinstance(v, dict)},
    )


def to_invocation(rec: dict[str, Any]) -> dict[str, Any]:
    """A kickstart record in our ``aerie.invocation`` vocabulary (see ``invocation.py``).

    ``start`` keeps kickstart's local-offset ISO form.  Outputs are the ``files`` entries marked
    ``output: True``.
    """
    f = record_fields(rec)
    raw = f.raw
    exitcode = f.regular_exitcode
    signal = f.signalled_signal
    if isinstance(raw, int) and exitcode is None and signal is None:
        exitcode, signal = (raw >> 8, None) if raw & 0x7F == 0 else (None, raw & 0x7F)
    outputs = []
    for key, entry in f.files.items():
        if entry.get("output") is True:
            outputs.append(
                {
                    "lfn": entry.get("lfn") or key,
                    "size": entry.get("size"),
                    "sha256": entry.get("sha256"),
                    "checksum_timing": entry.get("checksum_timing"),
                    "ctime": entry.get("ctime"),
                }
            )

    def data(name: str) -> str:
        d = f.files.get(name)
        return str(d.get("data") or "") if d is not None else ""

    failed = raw != 0 or "integrity_error" in rec
    exe = f.executable
    return {
        "type": "aerie.invocation",
        "version": 1,
        "source": "kickstart",
        "job_id": f.derivation,
        "transformation": f.transformation,
        "site": f.resource,
        "wf_label": f.wf_label,
        "hostname": f.hostname,
        "hostaddr": f.hostaddr,
        "user": f.user,
        "uid": f.uid,
        "cwd": f.cwd,
        "executable": exe,
        "argv": ([str(exe)] if exe else []) + f.args,
        "start": f.start,
        "duration": _num(f.duration),
        "exitcode": exitcode,
        "signal": signal,
        "raw_status": raw,
        "utime": _num(f.utime),
        "stime": _num(f.stime),
        "maxrss_kb": int(_num(f.maxrss)),
        "stdout_tail": data("stdout"),
        "stderr_tail": data("stderr"),
        "outputs": outputs,
        "failed_step": "exec" if failed else None,
    }
