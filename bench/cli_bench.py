"""Start-up time of the `aerie` command: `--help` of the group and of a few subcommands.

Each command is run as a fresh process (the installed `aerie` script beside this Python, so
the entry point `gateway.cli:main` is what is measured) REPEAT times; the median wall time and
the median CPU time (user + system of the child, from wait4) are printed.

    .venv/bin/python bench/cli_bench.py             # median of 5 runs each
    .venv/bin/python bench/cli_bench.py --repeat 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (
    ("--help",),
    ("validate", "--help"),
    ("status", "--help"),
    ("run", "--help"),
)


def aerie_script() -> str:
    """The `aerie` console script of this environment (falls back to the one on PATH)."""
    script = Path(sys.executable).with_name("aerie")
    return str(script) if script.exists() else "aerie"


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of argv (its output is discarded)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {process.returncode}: {stderr}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="Runs per command (median shown).")
    args = parser.parse_args()
    aerie = aerie_script()
    measure([aerie, "--help"])  # warm the page cache and the .pyc files
    print(f"{'command':<24} {'wall s':>8} {'CPU s':>8}   (median of {args.repeat})")
    for command in COMMANDS:
        runs = [measure([aerie, *command]) for _ in range(args.repeat)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"{'aerie ' + ' '.join(command):<24} {wall:>8.3f} {cpu:>8.3f}")


if __name__ == "__main__":
    main()
