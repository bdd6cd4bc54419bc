"""The engine contract: how the worker starts, watches, stops and resumes a planned run.

Both engines consume the same submit directory (docs/submit-dir.md) and report in the same
terms, so the worker's tasks never branch on the engine. Every method is safe to call from a
fresh process that only has the `EngineHandle` (stored in the database as JSON): nothing may
depend on in-memory state of the process that called `submit`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml


class EngineError(RuntimeError):
    """The engine could not do what was asked (message says why, for the run's error field)."""


class RunState(StrEnum):
    RUNNING = "running"  # the engine is (or is about to be) executing the DAG
    SUCCEEDED = "succeeded"  # the DAG finished and every node is done
    FAILED = "failed"  # the DAG stopped short: a node failed for good or ABORT-DAG-ON fired
    REMOVED = "removed"  # stopped on request (`remove`, SIGTERM, condor_rm)
    LOST = "lost"  # the engine died without concluding (crash, SIGKILL, reboot): resume it


@dataclass(frozen=True)
class EngineHandle:
    """Identifies one engine execution of a submit directory.

    `job_id` is the engine's own id: the local engine's pid, the DAGMan job's cluster id.
    `started` is a Unix time; `extra` holds engine-specific details (e.g. process start time).
    """

    engine: str
    submit_dir: str
    dag_file: str
    job_id: str
    started: float
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EngineHandle:
        data = json.loads(text)
        return cls(**data)


@dataclass(frozen=True)
class EngineStatus:
    """What `poll` saw. `exit_code` and `dag_status` are set once the run concluded
    (DAGMan's exit code and DagStatus: 0 ok, 2 node failed, 3 abort, 4 removed); `rescue_file`
    names the rescue DAG a failed/removed run left behind."""

    state: RunState
    exit_code: int | None = None
    dag_status: int | None = None
    detail: str = ""
    rescue_file: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in (RunState.SUCCEEDED, RunState.FAILED, RunState.REMOVED)


class Engine(ABC):
    """Runs planned submit directories. Implementations: `local`, `htcondor`."""

    name: str

    @abstractmethod
    def submit(self, submit_dir: Path, *, force: bool = False) -> EngineHandle:
        """Start executing the submit directory's DAG and return at once.

        The newest rescue DAG, if any, is applied (DONE nodes are not re-run) unless `force`,
        which retires rescue files and starts from scratch. Raises `EngineError` when the run
        cannot be started (no DAG, DAG already running, no schedd…).
        """

    @abstractmethod
    def poll(self, handle: EngineHandle) -> EngineStatus:
        """Current state; cheap, never blocks, callable any number of times from any process.

        RUNNING while the engine executes (including just after `submit`, before it has
        written anything); SUCCEEDED / FAILED / REMOVED once it concluded, with exit code,
        DAG status and rescue file; LOST when the engine is gone without concluding — the
        caller should `resume`.
        """

    @abstractmethod
    def remove(self, handle: EngineHandle) -> None:
        """Ask the engine to stop (condor_rm): running jobs are killed, aborted events and a
        rescue DAG are written, and `poll` then reports REMOVED. Returns without waiting;
        removing a run that already concluded does nothing."""

    @abstractmethod
    def resume(self, handle: EngineHandle) -> EngineHandle:
        """Continue a run that FAILED, was REMOVED or was LOST, never re-running nodes that
        succeeded (rescue DAG, or log recovery after a crash). Returns the new handle; a
        still RUNNING run is returned unchanged."""


def find_dag(submit_dir: Path) -> Path:
    """The DAG file of a submit directory: braindump.yml's `dag` entry, else the only `*.dag`."""
    braindump = submit_dir / "braindump.yml"
    if braindump.exists():
        try:
            data = yaml.safe_load(braindump.read_text()) or {}
        except yaml.YAMLError as exc:
            raise EngineError(f"{braindump}: not valid YAML: {exc}") from exc
        dag = data.get("dag") if isinstance(data, dict) else None
        if dag:
            path = Path(str(dag))
            path = path if path.is_absolute() else submit_dir / path
            if not path.exists():
                raise EngineError(f"{braindump}: dag {dag!r} does not exist")
            return path
    dags = sorted(submit_dir.glob("*.dag"))
    if len(dags) != 1:
        found = ", ".join(p.name for p in dags) or "none"
        raise EngineError(f"{submit_dir}: expected exactly one *.dag file, found {found}")
    return dags[0]
