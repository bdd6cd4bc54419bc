"""Settings of one local-engine run: host capacity, throttles, scratch, timings.

Precedence follows DAGMan: explicit values (command-line flags) beat the DAG's CONFIG file,
which beats the defaults (this host's cores and memory, no GPUs, DAGMan's throttle defaults).
"""

from __future__ import annotations

import getpass
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers with arbitrary uids)
        return str(os.getuid())


def host_memory_mb() -> int:
    """MemTotal from /proc/meminfo, in MB (a conservative 1024 when unreadable)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 1024


def default_scratch_root(submit_dir: Path | None = None) -> Path:
    """$AERIE_SCRATCH_DIR, else `.aerie-scratch` beside the submit directory (same file system
    as the staging area, so copies are cheap), else the system temporary directory."""
    configured = os.environ.get("AERIE_SCRATCH_DIR")
    if configured:
        return Path(configured)
    if submit_dir is not None and os.access(submit_dir.parent, os.W_OK):
        return submit_dir.parent / ".aerie-scratch"
    return Path(tempfile.gettempdir()) / f"aerie-scratch-{os.getuid()}"


@dataclass(frozen=True)
class EngineConfig:
    """What the engine may use. `None` means "take it from the DAG's CONFIG or the host"."""

    cpus: int | None = None
    memory_mb: int | None = None
    gpus: int | None = None
    scratch_root: Path | None = None
    max_jobs: int | None = None
    max_pre: int | None = None
    max_post: int | None = None
    max_local: int | None = None
    always_run_post: bool | None = None
    max_rescue: int | None = None
    kill_grace_seconds: float = 5.0
    table_interval_seconds: float = 1.0
    inprocess_wrapper: bool = True
    inline_post: bool = True
    starters: bool = True
    """Run the job wrapper and POST verdicts in long-lived starter processes (starter.py)
    instead of a fork of the engine per job; needs `inprocess_wrapper`."""
    user: str = field(default_factory=lambda: _user_name())
    job_user: str | None = None
    """Unix account every job runs as (the engine must be root); see `isolation`."""

    def resolve(self, dag_config: dict[str, str], submit_dir: Path | None = None) -> EngineConfig:
        """Fill every `None` from the DAG's CONFIG knobs, then from host defaults."""

        def knob(name: str, default: int) -> int:
            value = dag_config.get(name)
            try:
                return int(value) if value is not None else default
            except ValueError:
                return default

        cpus = self.cpus if self.cpus is not None else (os.cpu_count() or 1)
        always = self.always_run_post
        if always is None:
            always = dag_config.get("DAGMAN_ALWAYS_RUN_POST", "false").lower() in ("true", "1")
        return replace(
            self,
            cpus=cpus,
            memory_mb=self.memory_mb if self.memory_mb is not None else host_memory_mb(),
            gpus=self.gpus if self.gpus is not None else 0,
            scratch_root=(self.scratch_root or default_scratch_root(submit_dir)).absolute(),
            max_jobs=self.max_jobs
            if self.max_jobs is not None
            else knob("DAGMAN_MAX_JOBS_SUBMITTED", 0),
            max_pre=self.max_pre
            if self.max_pre is not None
            else knob("DAGMAN_MAX_PRE_SCRIPTS", 20),
            max_post=self.max_post
            if self.max_post is not None
            else knob("DAGMAN_MAX_POST_SCRIPTS", 20),
            max_local=self.max_local if self.max_local is not None else max(4, 2 * cpus),
            always_run_post=always,
            max_rescue=self.max_rescue
            if self.max_rescue is not None
            else knob("DAGMAN_MAX_RESCUE_NUM", 100),
        )

    def to_args(self) -> list[str]:
        """Command-line flags that reproduce this configuration in a child engine (SUBDAG)."""
        args: list[str] = []
        for flag, value in (
            ("--cpus", self.cpus),
            ("--memory", self.memory_mb),
            ("--gpus", self.gpus),
            ("--scratch", self.scratch_root),
            ("--maxjobs", self.max_jobs),
            ("--maxpre", self.max_pre),
            ("--maxpost", self.max_post),
            ("--job-user", self.job_user),
        ):
            if value is not None:
                args += [flag, str(value)]
        return args
