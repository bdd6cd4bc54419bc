"""Where a run's files live and how far it got: shared by the gateway's services and the
worker's tasks (so it must not import the task queue: the worker never imports gateway.tasks).

`<data_dir>/runs/<id>/inputs/` holds the submitted documents under the names the planner
discovers; `<data_dir>/runs/<id>/submit/` is the submit directory the worker plans into (its
parent also receives `wf-scratch/` and the local output site's `wf-output/`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.models import DagStatus, Run, Workflow
from gateway.settings import Settings

DOCUMENTS: dict[str, str] = {
    "workflow": "workflow.yml",
    "replicas": "replicas.yml",
    "transformations": "transformations.yml",
    "sites": "sites.yml",
    "properties": "pegasus.properties",
}
"""Submission field -> file name in the run's inputs directory."""


def run_root(settings: Settings, run_id: str) -> Path:
    return Path(settings.data_dir) / "runs" / run_id


def inputs_dir(settings: Settings, run_id: str) -> Path:
    return run_root(settings, run_id) / "inputs"


def submit_dir_for(settings: Settings, run_id: str) -> Path:
    return run_root(settings, run_id) / "submit"


def root_workflow(session: Session, run: Run) -> Workflow | None:
    stmt = (
        select(Workflow)
        .where(Workflow.run_id == run.id, Workflow.parent_wf_id.is_(None))
        .order_by(Workflow.wf_id)
        .limit(1)
    )
    return session.scalar(stmt)


def status_counts(session: Session, run: Run) -> dict[str, Any]:
    """pegasus-status counts of the root workflow ({} before the monitor's first pass)."""
    from gateway.services.provenance import dag_progress

    wf = root_workflow(session, run)
    if wf is None:
        return {}
    prog = dag_progress(session, wf.wf_id)
    status = session.get(DagStatus, wf.wf_id)
    return {
        "total": prog.total,
        "unready": prog.unready,
        "ready": prog.ready,
        "pre": prog.pre,
        "queued": prog.queued,
        "post": prog.post,
        "succeeded": prog.succeeded,
        "failed": prog.failed,
        "held": status.held if status is not None else 0,
        "percent_done": prog.percent_done,
    }
