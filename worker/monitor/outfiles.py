"""A job attempt's `.out`/`.err` files: where they are, and the invocation records inside.

The POST script (`aerie-lite exitcode`, like pegasus-exitcode) rotates `<job>.out` to
`<job>.out.NNN` after every attempt, NNN being the first free number, so attempt k (0-based)
of a node with a POST script reads `.out.{k:03d}`. Nodes without a POST script leave only the
last attempt's `.out`.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.lite.invocation import CLUSTER_SUMMARY, INVOCATION, parse_lines

TEXT_CAP = 64 * 1024  # stampede caps job_instance.stdout_text at 64 KiB


@dataclass
class AttemptOutput:
    stdout_file: str | None = None
    stderr_file: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    stderr_text: str | None = None


def _read(base: str, try_index: int, rotated: bool) -> tuple[str, bytes] | None:
    """(path, bytes) of the rotated file for this attempt, else of the live one, else None.

    Opening and catching FileNotFoundError costs one system call where a stat first costs two;
    the monitor reads two files per attempt, tens of thousands per pass.
    """
    candidates = [f"{base}.{try_index:03d}", base] if rotated else [base]
    for path in candidates:
        try:
            # Never through a symlink: isolated jobs may create files in their job directory,
            # and the monitor (the gateway's account) must not read what they point at.
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                continue
            raise
        with open(fd, "rb") as fh:
            try:
                return path, fh.read()
            except IsADirectoryError:
                continue
    return None


def _relative(path: str, root: str) -> str:
    prefix = root.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else os.path.relpath(path, root)


def read_attempt(
    submit_dir: Path, submit_file: str | None, node: str, try_index: int, rotated: bool
) -> AttemptOutput:
    """The files and records of attempt `try_index` of `node` (missing files give nothing)."""
    root = str(submit_dir)
    folder = os.path.dirname(os.path.join(root, submit_file)) if submit_file else root
    out = AttemptOutput()
    found = _read(os.path.join(folder, f"{node}.out"), try_index, rotated)
    if found is not None:
        out.stdout_file = _relative(found[0], root)
        for rec in parse_lines(found[1].decode("utf-8", "replace")):
            if rec.get("type") == INVOCATION:
                out.records.append(rec)
            elif rec.get("type") == CLUSTER_SUMMARY:
                out.summary = rec
    found = _read(os.path.join(folder, f"{node}.err"), try_index, rotated)
    if found is not None:
        out.stderr_file = _relative(found[0], root)
        data = found[1][-TEXT_CAP:] if len(found[1]) > TEXT_CAP else found[1]
        out.stderr_text = data.decode("utf-8", "replace")
    return out


def stdout_text(records: list[dict[str, Any]]) -> str | None:
    """Stampede's `job_instance.stdout_text`: `#@ N stdout` / `#@ N stderr` sections per task."""
    if not records:
        return None
    parts = []
    for i, rec in enumerate(records, start=1):
        n = rec.get("task_index") or i
        parts.append(f"#@ {n} stdout\n{rec.get('stdout_tail') or ''}\n")
        parts.append(f"#@ {n} stderr\n{rec.get('stderr_tail') or ''}\n")
    text = "".join(parts)
    return text[-TEXT_CAP:] if len(text) > TEXT_CAP else text
