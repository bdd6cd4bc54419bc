"""Use cases about workflow runs, shared by the API, the pages and the CLI.

A submission is validated synchronously with the planner's own loader (every problem with its
field, file, line and path), stored under `<data_dir>/runs/<id>/inputs/` with the canonical
file names the planner discovers (`workflow.yml`, `replicas.yml`, `transformations.yml`,
`sites.yml`, `pegasus.properties`), and planning is enqueued after the commit. The worker plans
into `<data_dir>/runs/<id>/submit/`.

The planner is imported here, at module import, on purpose: its YAML parser (yaml_rs, a PyO3
extension) crashes the process when it is first imported on a short-lived thread (a request's
worker thread) and used after that thread ended.

Every read goes through `get_run_for_user_or_404`: another person's run is "not found", never
"forbidden", so ids do not leak whether they exist.
"""

from __future__ import annotations

import base64
import binascii
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.db.base import new_uuid
from gateway.db.models import Run, User
from gateway.db.states import TERMINAL, RunState
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.services import audit, catalogs, quotas, run_events
from gateway.services import policy as policy_service
from gateway.services.labels import clean_labels, label_matches
from gateway.services.run_layout import DOCUMENTS as DOCUMENTS
from gateway.services.run_layout import import_copy
from gateway.services.run_layout import inputs_dir as inputs_dir
from gateway.services.run_layout import root_workflow as root_workflow
from gateway.services.run_layout import run_root as run_root
from gateway.services.run_layout import status_counts as status_counts
from gateway.services.run_layout import submit_dir_for as submit_dir_for
from gateway.settings import Settings
from gateway.tasks import TaskQueue
from planner import PlanOptions, plan
from planner.errors import ProblemsError
from planner.inputs import load_inputs
from planner.policy import PolicyError, SitePolicy

ENGINES = ("local", "htcondor")
PLAN_TASK = "runs.plan"
CANCEL_TASK = "runs.cancel"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@dataclass
class Submission:
    documents: dict[str, str]
    name: str | None = None
    engine: str | None = None
    execution_sites: list[str] | None = None
    labels: Mapping[str, Any] = field(default_factory=dict)
    """Text, numbers or booleans; stored as text (gateway.services.labels)."""
    plan_options: dict[str, Any] = field(default_factory=dict)
    """More of `aerie plan`'s options (output_sites, staging_sites, cleanup, cluster, reuse,
    force, seed; JSON values), kept in `Run.options` for the planning task."""


def _problem_details(problems: Sequence[Any], directory: Path) -> list[dict[str, Any]]:
    by_file = {name: field_ for field_, name in DOCUMENTS.items()}
    details = []
    for p in problems:
        item = p.to_dict()
        name = Path(item["file"]).name if item.get("file") else None
        if item.get("file") and Path(item["file"]).parent.resolve() == directory.resolve():
            item["file"] = name
        item["field"] = by_file.get(name or "", "workflow")
        details.append(item)
    return details


def validate_inputs(
    directory: Path, execution_sites: list[str] | None, policy: SitePolicy | None = None
) -> Any:
    """The planner's `PlanInputs` for the documents in `directory`, or InvalidInput (422)
    listing every problem; `details` items have field, file, line, path, message, code.
    With a site `policy` (a confined user), files, programs and URLs it forbids are problems
    too (code `policy`), and catalog files must be among the uploaded documents."""
    props = directory / DOCUMENTS["properties"]
    try:
        inputs = load_inputs(
            directory / DOCUMENTS["workflow"],
            properties=props if props.is_file() else None,
            sites=execution_sites or None,
            confine_to=directory if policy is not None else None,
        )
        forbidden = policy_service.check_inputs(inputs, policy)
        if forbidden:
            raise PolicyError(forbidden)
        # A dry compile (in memory, nothing written) catches what only planning sees, such
        # as a transformation that no chosen site can run, while the user is still waiting.
        plan(inputs, PlanOptions(submit_dir=directory / "submit", sites=execution_sites))
        return inputs
    except ProblemsError as exc:
        details = _problem_details(exc.problems, directory)
        raise InvalidInput(
            f"the workflow is not valid: {len(details)} problem(s)", details=details
        ) from exc


def create_run(
    session: Session, settings: Settings, tasks: TaskQueue, user: User, sub: Submission
) -> Run:
    """Validate, store and enqueue a submission; the run starts QUEUED."""
    if not sub.documents.get("workflow"):
        raise InvalidInput(
            "the 'workflow' document is required",
            details=[{"field": "workflow", "message": "field required"}],
        )
    unknown = sorted(set(sub.documents) - set(DOCUMENTS))
    if unknown:
        raise InvalidInput(f"unknown document field(s): {', '.join(unknown)}")
    labels = clean_labels(sub.labels)
    engine = sub.engine or "local"
    if engine not in ENGINES:
        raise InvalidInput(
            f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}",
            details=[{"field": "engine", "message": f"not one of {', '.join(ENGINES)}"}],
        )
    run_id = new_uuid()
    staging = Path(settings.data_dir) / "runs" / f".incoming-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        documents = {**catalogs.defaults(session, user), **sub.documents}
        for field_, text in documents.items():
            if text is None or field_ not in DOCUMENTS:
                continue
            (staging / DOCUMENTS[field_]).write_text(text, encoding="utf-8")
        policy = policy_service.policy_for(settings, user, run_id)
        reuse = policy_service.check_paths(
            [str(p) for p in sub.plan_options.get("reuse") or []], policy, "reuse"
        )
        if reuse:
            raise InvalidInput(
                "the submission names directories you may not read",
                details=[{**p.to_dict(), "field": "reuse"} for p in reuse],
            )
        inputs = validate_inputs(staging, sub.execution_sites, policy)
        quotas.check_new_run(session, settings, user, jobs=len(inputs.workflow.jobs))
        target = inputs_dir(settings, run_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    run = Run(
        id=run_id,
        owner_id=user.id,
        name=sub.name or inputs.workflow.name or "workflow",
        engine=engine,
        labels=labels,
        options={
            **sub.plan_options,
            **({"sites": sub.execution_sites} if sub.execution_sites else {}),
        },
    )
    session.add(run)
    session.flush()
    run_events.record(session, settings, run, "submitted")
    audit.record(
        session, actor=user, action="run.submit", target=f"run:{run.id}", details={"name": run.name}
    )
    tasks.enqueue(session, PLAN_TASK, run.id)
    return run


def get_run_for_user_or_404(session: Session, user: User, run_id: str) -> Run:
    """The caller's run, or NotFound — also for runs that exist but belong to someone else."""
    run = session.get(Run, run_id)
    if run is None or run.owner_id != user.id:
        raise NotFound(f"no workflow run with id {run_id!r}")
    return run


def _encode_cursor(run: Run) -> str:
    raw = f"{run.created_at.isoformat()}|{run.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, run_id = raw.partition("|")
        return datetime.fromisoformat(stamp), run_id
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise InvalidInput("invalid cursor", details=[{"field": "cursor"}]) from exc


@dataclass(frozen=True)
class RunFilter:
    state: str | None = None
    name: str | None = None
    label: str | None = None
    since: datetime | None = None


def list_runs(
    session: Session,
    *,
    owner: User | None,
    filters: RunFilter = RunFilter(),
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Run], str | None]:
    """Newest first. `owner=None` lists everybody's (admin views only)."""
    stmt = select(Run)
    if owner is not None:
        stmt = stmt.where(Run.owner_id == owner.id)
    if filters.state:
        try:
            stmt = stmt.where(Run.state == RunState(filters.state))
        except ValueError as exc:
            raise InvalidInput(
                f"unknown state {filters.state!r}; use one of "
                + ", ".join(s.value for s in RunState),
                details=[{"field": "state"}],
            ) from exc
    if filters.name:
        stmt = stmt.where(Run.name == filters.name)
    if filters.since:
        since = filters.since
        if since.tzinfo is None:
            raise InvalidInput("'since' needs a time zone, e.g. 2026-01-01T00:00:00Z")
        stmt = stmt.where(Run.created_at >= since)
    if cursor:
        stamp, last_id = _decode_cursor(cursor)
        stmt = stmt.where(
            or_(Run.created_at < stamp, and_(Run.created_at == stamp, Run.id < last_id))
        )
    stmt = stmt.order_by(Run.created_at.desc(), Run.id.desc())
    label_key, _, label_value = (filters.label or "").partition("=")
    rows: list[Run] = []
    # Labels are JSON: filter them in Python, reading pages until the page is full.
    batch = max(limit * 2, 50)
    offset = 0
    while len(rows) <= limit:
        chunk = list(session.scalars(stmt.offset(offset).limit(batch)))
        for run in chunk:
            if label_key and not label_matches(run.labels, label_key, label_value):
                continue
            rows.append(run)
        if len(chunk) < batch:
            break
        offset += batch
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, _encode_cursor(rows[-1]) if more and rows else None


def cancel_run(
    session: Session,
    settings: Settings,
    tasks: TaskQueue,
    run: Run,
    *,
    actor: User | None = None,
) -> Run:
    """Cancel now; the worker stops the engine (if one was started) after the commit."""
    if RunState(run.state) in TERMINAL:
        raise Conflict(f"run {run.id} already ended ({RunState(run.state).value})")
    had_engine = run.engine_handle is not None or RunState(run.state) is RunState.PLANNING
    run_events.set_state(session, settings, run, RunState.CANCELLED, detail="cancelled by user")
    audit.record(session, actor=actor, action="run.cancel", target=f"run:{run.id}")
    if had_engine:
        tasks.enqueue(session, CANCEL_TASK, run.id)
    return run


def retry_run(
    session: Session,
    settings: Settings,
    tasks: TaskQueue,
    run: Run,
    *,
    actor: User | None = None,
) -> Run:
    """Resubmit a failed run; the worker resumes it from its rescue DAG when it has one."""
    if RunState(run.state) is not RunState.FAILED:
        raise Conflict(f"only failed runs can be retried; run {run.id} is {run.state}")
    run_events.set_state(session, settings, run, RunState.QUEUED, detail="retry requested")
    audit.record(session, actor=actor, action="run.retry", target=f"run:{run.id}")
    tasks.enqueue(session, PLAN_TASK, run.id)
    return run


def delete_run(
    session: Session, settings: Settings, run: Run, *, actor: User | None = None
) -> None:
    """Remove a stopped run's rows and files; Conflict while it may still be working.

    An uploaded import's unpacked copy under `<data_dir>/imports/` goes too: nothing else
    refers to it, and it can be as large as the Pegasus run it came from.
    """
    if RunState(run.state) not in TERMINAL:
        raise Conflict(f"run {run.id} is {RunState(run.state).value}; cancel it before deleting it")
    root = run_root(settings, run.id)
    copy = import_copy(settings, run)
    audit.record(
        session,
        actor=actor,
        action="run.delete",
        target=f"run:{run.id}",
        details={"name": run.name},
    )
    session.delete(run)
    session.flush()
    shutil.rmtree(root, ignore_errors=True)
    if copy is not None:
        shutil.rmtree(copy, ignore_errors=True)
