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


def imports_dir(settings: Settings) -> Path:
    """Where uploaded Pegasus submit directories are unpacked, one `<random>/` folder each."""
    return Path(settings.data_dir) / "imports"


def import_copy(settings: Settings, run: Run) -> Path | None:
    """The `<data_dir>/imports/<random>/` folder an uploaded run was unpacked into, if any.

    Runs imported from a path on the server (`aerie import DIR`) point at the user's own
    directory: those, and any path that only reaches the imports folder through `..` or a
    symbolic link, give None, so deleting a run never removes files outside Aerie's folder.
    """
    if not run.submit_dir:
        return None
    base = imports_dir(settings).resolve()
    submit = Path(run.submit_dir)
    if not submit.is_absolute() or ".." in submit.parts:
        return None
    try:
        parts = submit.relative_to(base).parts  # the importer stores resolved paths
    except ValueError:
        return None
    if not parts:
        return None
    copy = base / parts[0]
    if copy.is_symlink() or not copy.is_dir():
        return None
    return copy


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
