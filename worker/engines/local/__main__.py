"""`python -m worker.engines.local run DAGFILE [options]`: the engine without the `aerie` CLI.

Used for SUBDAG nodes (a child engine per inner DAG) and by `aerie engine run`, and cheap to
start because it imports neither click nor the gateway.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from worker.engines.local.config import EngineConfig
from worker.engines.local.dagfile import DagSyntaxError
from worker.engines.local.runner import EngineBusy, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m worker.engines.local")
    sub = parser.add_subparsers(dest="command", required=True)
    runp = sub.add_parser("run", help="run a DAG file in the foreground until it ends")
    runp.add_argument("dag", type=Path)
    add_config_arguments(runp)
    runp.add_argument("--force", action="store_true", help="ignore and retire rescue DAGs")
    runp.add_argument("--parent-dagman-id", default=None, help=argparse.SUPPRESS)
    return parser


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cpus", type=int, default=None)
    parser.add_argument("--memory", type=int, default=None, help="MB")
    parser.add_argument("--gpus", type=int, default=None)
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument("--maxjobs", type=int, default=None)
    parser.add_argument("--maxpre", type=int, default=None)
    parser.add_argument("--maxpost", type=int, default=None)
    parser.add_argument(
        "--job-user", default=None, help="run every job as this Unix account (engine as root)"
    )


def config_from(args: argparse.Namespace) -> EngineConfig:
    return EngineConfig(
        cpus=args.cpus,
        memory_mb=args.memory,
        gpus=args.gpus,
        scratch_root=args.scratch,
        max_jobs=args.maxjobs,
        max_pre=args.maxpre,
        max_post=args.maxpost,
        job_user=args.job_user,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(
            args.dag,
            config_from(args),
            force=args.force,
            parent_dagman_id=args.parent_dagman_id,
        )
    except (DagSyntaxError, EngineBusy) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
