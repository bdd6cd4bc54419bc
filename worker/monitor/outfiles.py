"""A job attempt's `.out`/`.err` files: where they are, and the invocation records inside.

The POST script (`aerie-lite exitcode`, like pegasus-exitcode) rotates `<job>.out` to
`<job>.out.NNN` after every attempt, NNN being the first free number, so attempt k (0-based)
of a node with a POST script reads `.out.{k:03d}`. Nodes without a POST script leave only the
last attempt's `.out`.
"""

from __future__ import annotations

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


def _pick(base: Path, try_index: int, rotated: bool) -> Path | None:
    if rotated:
        candidate = base.with_name(f"{base.name}.{try_index:03d}")
        if candidate.is_file():
            return candidate
    return base if base.is_file() else None


def _tail(path: Path) -> str:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size > TEXT_CAP:
            fh.seek(size - TEXT_CAP)
        return fh.read().decode("utf-8", "replace")


def read_attempt(
    submit_dir: Path, submit_file: str | None, node: str, try_index: int, rotated: bool
) -> AttemptOutput:
    """The files and records of attempt `try_index` of `node` (missing files give nothing)."""
    folder = (submit_dir / submit_file).parent if submit_file else submit_dir
    out = AttemptOutput()
    out_path = _pick(folder / f"{node}.out", try_index, rotated)
    err_path = _pick(folder / f"{node}.err", try_index, rotated)
    if out_path is not None:
        out.stdout_file = str(out_path.relative_to(submit_dir))
        text = out_path.read_text(encoding="utf-8", errors="replace")
        for rec in parse_lines(text):
            if rec.get("type") == INVOCATION:
                out.records.append(rec)
            elif rec.get("type") == CLUSTER_SUMMARY:
                out.summary = rec
    if err_path is not None:
        out.stderr_file = str(err_path.relative_to(submit_dir))
        out.stderr_text = _tail(err_path)
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
