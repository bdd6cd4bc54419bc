"""Rescue DAGs in DAGMan's format: `<dag>.rescueNNN`, newest applied on the next run.

The file is a *partial* DAG (DAGMAN_WRITE_PARTIAL_RESCUE): a comment header naming the failed
nodes, then one `DONE <node>` per finished node (never the FINAL node). Retries are reset on
rescue (DAGMAN_RESET_RETRIES_UPON_RESCUE defaults to true), so no RETRY lines are written.
Reading goes through `dagfile.apply_rescue`, which also accepts RETRY lines written by
DAGMan with the non-default setting.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

RESCUE_VERSION = "2.1.0 (partial)"
MAX_RESCUE_DEFAULT = 100
_RESCUE_RE = re.compile(r"\.rescue(\d{3})$")


def rescue_files(dag_path: Path) -> list[tuple[int, Path]]:
    """Existing rescue files of `dag_path`, oldest first (`.old` files are ignored)."""
    found = []
    for candidate in dag_path.parent.glob(dag_path.name + ".rescue[0-9][0-9][0-9]"):
        match = _RESCUE_RE.search(candidate.name)
        if match:
            found.append((int(match.group(1)), candidate))
    return sorted(found)


def newest_rescue(dag_path: Path) -> tuple[int, Path] | None:
    files = rescue_files(dag_path)
    return files[-1] if files else None


def retire_rescue_files(dag_path: Path, above: int = 0) -> None:
    """Rename rescue files numbered above `above` to `.old` (what -force / -DoRescueFrom do)."""
    for number, path in rescue_files(dag_path):
        if number > above:
            path.rename(path.with_name(path.name + ".old"))


def write_rescue(
    dag_path: Path,
    total_nodes: int,
    done: Sequence[str],
    failed: Sequence[str],
    max_rescue: int = MAX_RESCUE_DEFAULT,
    now: float | None = None,
) -> Path:
    """Write the next rescue file (the last number is overwritten once `max_rescue` is hit)."""
    newest = newest_rescue(dag_path)
    number = min((newest[0] if newest else 0) + 1, max(1, max_rescue))
    path = dag_path.with_name(f"{dag_path.name}.rescue{number:03d}")
    stamp = time.gmtime(now if now is not None else time.time())
    created = (
        f"{stamp.tm_mon}/{stamp.tm_mday}/{stamp.tm_year} "
        f"{stamp.tm_hour:02d}:{stamp.tm_min:02d}:{stamp.tm_sec:02d} UTC"
    )
    lines = [
        "# Rescue DAG file, created after running",
        f"#   the {dag_path.name} DAG file",
        f"# Created {created}",
        f"# Rescue DAG version: {RESCUE_VERSION}",
        "#",
        f"# Total number of Nodes: {total_nodes}",
        f"# Nodes premarked DONE: {len(done)}",
        f"# Nodes that failed: {len(failed)}",
        "#   " + "".join(f"{name}," for name in failed) + "<ENDLIST>",
        "",
    ]
    lines += [f"DONE {name}" for name in done]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path
