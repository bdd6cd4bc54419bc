"""Copies a real Pegasus `stampede.db` into Aerie's provenance tables, so statistics, status and
analyzer output can be compared with what the Pegasus tools printed for the same run."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from gateway.db.models.provenance import (
    Host,
    Integrity,
    Invocation,
    Job,
    JobEdge,
    JobInstance,
    JobState,
    Tag,
    Task,
    Workflow,
    WorkflowState,
)

ORDER = [Workflow, WorkflowState, Host, Job, JobEdge, JobInstance, JobState, Tag, Task,
         Invocation, Integrity]  # fmt: skip
DEFAULTS: dict[str, Any] = {
    "ip": "", "site": "", "hostname": "", "max_retries": 0, "task_count": 0,
    "clustered": False, "multiplier_factor": 1,
}  # fmt: skip


def copy_stampede(session: Session, db: Path, offset: int = 0) -> dict[str, int]:
    """Copy every provenance row; ids are shifted by `offset`. Returns wf_uuid -> wf_id."""
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    id_cols = {"wf_id", "parent_wf_id", "root_wf_id", "host_id", "job_id", "job_instance_id",
               "task_id", "invocation_id", "integrity_id", "tag_id", "subwf_id"}  # fmt: skip
    for model in ORDER:
        table = model.__table__
        ours = {c.name for c in inspect(model).columns}
        cur = src.execute(f"select * from {table.name}")
        names = [d[0] for d in cur.description]
        rows = []
        for values in cur.fetchall():
            rec = {}
            for n, v in zip(names, values, strict=True):
                if n not in ours:
                    continue
                if n in id_cols and v is not None:
                    v = int(v) + offset
                if v is None and n in DEFAULTS:
                    v = DEFAULTS[n]
                rec[n] = float(v) if n in ("timestamp",) and v is not None else v
            if model is Workflow:
                rec.update(source="pegasus", imported=True)
            if model is Job:
                rec["clustered"] = bool(rec.get("clustered"))
            rows.append(rec)
        if rows:
            session.execute(insert(table), rows)
    session.flush()
    return {u: int(i) + offset for u, i in src.execute("select wf_uuid, wf_id from workflow")}
