"""Helpers that build small DAGs by hand: a node script that logs what it does, submit files.

`node.sh NAME LOGDIR [FAIL_TIMES] [SLEEP] [EXIT]` appends `NAME start <t>` / `NAME end <t>` to
LOGDIR/events.txt, fails with status EXIT (default 3) on its first FAIL_TIMES runs, and can
sleep — enough to observe retries, ordering, concurrency and re-runs from the outside.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from worker.engines.local.config import EngineConfig

NODE_SH = """#!/bin/sh
name=$1; logdir=$2; fail=${3:-0}; pause=${4:-0}; code=${5:-3}
echo "$name start $(date +%s.%N) retry=$DAG_RETRY" >> "$logdir/events.txt"
if [ "$pause" != "0" ]; then sleep "$pause"; fi
n=$(grep -c "^$name start" "$logdir/events.txt")
echo "$name end $(date +%s.%N)" >> "$logdir/events.txt"
if [ "$n" -le "$fail" ]; then exit "$code"; fi
exit 0
"""


@dataclass
class DagDir:
    """A directory with node.sh, submit files and a DAG; `events()` reads what ran."""

    root: Path

    @property
    def script(self) -> Path:
        return self.root / "node.sh"

    def sub(
        self,
        name: str,
        args: str,
        universe: str = "local",
        extra: str = "",
    ) -> str:
        text = (
            f"universe = {universe}\n"
            f"executable = {self.script}\n"
            f'arguments = "{args}"\n'
            f"output = $(JOB).out\n"
            f"error = $(JOB).err\n"
            f'environment = "DAG_RETRY=$(RETRY)"\n'
            f"{extra}"
            "queue\n"
        )
        (self.root / name).write_text(text)
        return name

    def dag(self, text: str, name: str = "test.dag") -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def events(self) -> list[tuple[str, str, float]]:
        path = self.root / "events.txt"
        if not path.exists():
            return []
        rows = []
        for line in path.read_text().splitlines():
            parts = line.split()
            rows.append((parts[0], parts[1], float(parts[2])))
        return rows

    def starts(self, node: str | None = None) -> list[str]:
        return [n for n, what, _ in self.events() if what == "start" and node in (None, n)]

    def max_concurrency(self, nodes: set[str] | None = None) -> int:
        level = best = 0
        rows = [r for r in self.events() if nodes is None or r[0] in nodes]
        for _, what, _ in sorted(rows, key=lambda r: (r[2], r[1] == "start")):
            level += 1 if what == "start" else -1
            best = max(best, level)
        return best


@pytest.fixture
def dagdir(tmp_path: Path) -> DagDir:
    root = tmp_path / "run"
    root.mkdir()
    script = root / "node.sh"
    script.write_text(NODE_SH)
    script.chmod(0o755)
    return DagDir(root)


@pytest.fixture
def engine_config(tmp_path: Path) -> EngineConfig:
    """Fast shutdown, four slots, scratch inside the test's tmp dir."""
    return EngineConfig(
        cpus=4,
        memory_mb=4096,
        scratch_root=tmp_path / "scratch",
        kill_grace_seconds=2.0,
        table_interval_seconds=0.0,
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """The read-only reference data (`<repo>/../shared`, or $AERIE_SHARED_DIR)."""
    import os

    configured = os.environ.get("AERIE_SHARED_DIR")
    path = Path(configured) if configured else Path(__file__).parents[3] / ".." / "shared"
    if not path.exists():
        pytest.fail(f"shared reference data not found at {path}")
    yield path.resolve()


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
