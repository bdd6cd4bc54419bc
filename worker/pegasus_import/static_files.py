"""The planner's static descriptions: `.sub` files and the NetLogger `<p>.static.bp`.

monitord loads job types, executables and tasks from static.bp; when it is missing (it is not
part of every copy people keep) the same facts are recovered from the `.sub` ClassAds that
Pegasus writes on every job (`+pegasus_job_class`, `+pegasus_wf_xformation`, …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

JOB_CLASS_TO_TYPE = {
    0: "unknown",
    1: "compute",
    2: "stage-in-tx",
    3: "stage-out-tx",
    4: "registration",
    5: "inter-site-tx",
    6: "create-dir",
    7: "stage-in-tx",  # worker-package staging: the DB enum has no stage_worker_tx (SPEC §9.3)
    8: "cleanup",
    9: "chmod",
    10: "dax",
    11: "dag",
}

# Name prefix -> stampede type_desc; first match wins (longer prefixes first).
_PREFIXES = (
    ("create_dir_", "create-dir"),
    ("stage_in_", "stage-in-tx"),
    ("stage_out_", "stage-out-tx"),
    ("stage_inter_", "inter-site-tx"),
    ("stage_worker_", "stage-in-tx"),
    ("register_", "registration"),
    ("clean_up_", "cleanup"),
    ("cleanup_", "cleanup"),
    ("chmod_", "chmod"),
    ("pegasus-plan_", "dax"),
    ("subdax_", "dax"),
    ("dagman_", "dag"),
    ("subdag_", "dag"),
)


def type_desc(name: str, is_subdag: bool = False) -> str:
    """stampede's `job.type_desc` from a job's name: how the monitor knows an Aerie job's type,
    and the importer's fallback for a Pegasus job whose .sub has no `+pegasus_job_class`."""
    if is_subdag:
        return "dag"
    for prefix, kind in _PREFIXES:
        if name.startswith(prefix):
            return kind
    return "compute"


@dataclass
class SubmitFile:
    """`key = value` commands and `+attr = value` ClassAds of one HTCondor submit file."""

    path: Path
    commands: dict[str, str] = field(default_factory=dict)
    classads: dict[str, str] = field(default_factory=dict)

    def classad(self, name: str) -> str | None:
        value = self.classads.get(name.lower())
        if value is None:
            return None
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return value

    @property
    def job_class(self) -> int | None:
        value = self.classad("pegasus_job_class")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None


def read_submit_file(path: Path) -> SubmitFile | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    sub = SubmitFile(path)
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        if key.startswith("+"):
            sub.classads[key[1:].lower()] = value.strip()
        elif key.upper().startswith("MY."):
            sub.classads[key[3:].lower()] = value.strip()
        else:
            sub.commands[key.lower()] = value.strip()
    return sub


@dataclass
class StaticJob:
    exec_job_id: str
    submit_file: str | None
    type_desc: str | None
    clustered: bool
    max_retries: int | None
    executable: str | None
    argv: str | None
    task_count: int


@dataclass
class StaticTask:
    abs_task_id: str
    transformation: str | None
    argv: str | None
    type_desc: str | None


@dataclass
class StaticBP:
    jobs: dict[str, StaticJob] = field(default_factory=dict)
    job_edges: list[tuple[str, str]] = field(default_factory=list)
    tasks: dict[str, StaticTask] = field(default_factory=dict)
    task_edges: list[tuple[str, str]] = field(default_factory=list)
    task_to_job: dict[str, str] = field(default_factory=dict)
    wf_meta: dict[str, str] = field(default_factory=dict)


_PAIR = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S*)')


def _fields(line: str) -> dict[str, str]:
    out = {}
    for key, value in _PAIR.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1].replace('\\"', '"')
        out[key] = value
    return out


def read_static_bp(path: Path) -> StaticBP | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    bp = StaticBP()
    for line in text.splitlines():
        f = _fields(line)
        event = f.get("event", "").removeprefix("stampede.")
        if event == "job.info":
            bp.jobs[f["job.id"]] = StaticJob(
                exec_job_id=f["job.id"],
                submit_file=f.get("submit_file"),
                type_desc=f.get("type_desc"),
                clustered=f.get("clustered") == "1",
                max_retries=int(f["max_retries"]) if f.get("max_retries") else None,
                executable=f.get("executable"),
                argv=f.get("argv"),
                task_count=int(f.get("task_count") or 0),
            )
        elif event == "job.edge":
            bp.job_edges.append((f["parent.job.id"], f["child.job.id"]))
        elif event == "task.info":
            bp.tasks[f["task.id"]] = StaticTask(
                abs_task_id=f["task.id"],
                transformation=f.get("transformation"),
                argv=f.get("argv"),
                type_desc=f.get("type_desc"),
            )
        elif event == "task.edge":
            bp.task_edges.append((f["parent.task.id"], f["child.task.id"]))
        elif event == "wf.map.task_job":
            bp.task_to_job[f["task.id"]] = f["job.id"]
        elif event == "xwf.meta" and "key" in f:
            bp.wf_meta[f["key"]] = f.get("value", "")
    return bp
