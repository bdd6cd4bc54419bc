"""Run tasks: `runs.plan`, `runs.poll` (beat), `runs.cancel`.

Thin functions over the planner, the engines and the monitor, each idempotent per run id:

- `runs.plan` plans only a QUEUED run (a redelivered message finds it PLANNING or later and
  does nothing), writes the submit dir, installs the job wrapper and starts the engine detached
  (engines outlive tasks: the task returns at once). A run that failed and has an engine handle
  is resumed from its rescue DAG instead of being planned again.
- `runs.poll` (beat) brings every active run's provenance up to date with the monitor, asks
  the engine how it is doing, finishes runs that ended, resumes runs whose engine died, and
  re-plans runs left QUEUED too long (a lost message) or fails runs stuck in PLANNING (a worker
  died mid-plan).
- `runs.cancel` stops the engine of a run the gateway already marked CANCELLED.

All state changes go through `gateway.services.run_events.set_state`, which checks the
transition and publishes the SSE wake-up after the commit.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import Task, shared_task
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db.base import utcnow
from gateway.db.models import Run, User
from gateway.db.session import Database
from gateway.db.states import RunState
from gateway.errors import InvalidTransition
from gateway.services import policy as site_policy
from gateway.services import run_events
from gateway.services import run_layout as runs
from gateway.settings import Settings
from planner import PlanOptions, plan, write
from planner.errors import ProblemsError
from planner.inputs import load_inputs
from planner.policy import PolicyError, SitePolicy
from worker.workspace import install_wrapper

log = logging.getLogger(__name__)

STUCK_QUEUED = timedelta(minutes=2)
STUCK_PLANNING = timedelta(minutes=30)

_databases: dict[str, Database] = {}
_lock = threading.Lock()


def _settings(task: Task) -> Settings:
    settings = getattr(task.app.conf, "aerie_settings", None)
    if settings is None:
        from gateway.settings import get_settings

        settings = get_settings()
    return settings


def database(settings: Settings) -> Database:
    """One engine per database URL per process (tasks run many times)."""
    with _lock:
        db = _databases.get(settings.database_url)
        if db is None:
            db = _databases[settings.database_url] = Database.from_settings(settings)
        return db


def _locked_run(session: Session, run_id: str) -> Run | None:
    """The run row, locked for this transaction on PostgreSQL (no double work)."""
    stmt = select(Run).where(Run.id == run_id).with_for_update()
    return session.scalar(stmt)


def _engine(name: str, settings: Settings | None = None) -> Any:
    from worker.engines import get_engine

    if name == "local" and settings is not None:
        from worker.isolation import engine_config

        config = engine_config(settings)
        if config is not None:
            return get_engine(name, config=config)
    return get_engine(name)


def _isolate(
    settings: Settings, engine_name: str, run_id: str, owner_id: int | None = None
) -> None:
    """With a job account configured, lock the data dir and open the run's work dirs to it."""
    if engine_name != "local" or not settings.local_engine.job_user:
        return
    from worker.isolation import job_identity, prepare_run

    identity = job_identity(settings)
    if identity is not None:
        prepare_run(settings, run_id, identity, owner_id)


def _plan_files(settings: Settings, run: Run) -> tuple[Path, Any]:
    """Plan and write the run's submit dir; install the wrapper. Returns (submit dir, None)."""

    inputs_dir = runs.inputs_dir(settings, run.id)
    props = inputs_dir / runs.DOCUMENTS["properties"]
    sites = run.options.get("sites") or None
    policy = _site_policy(settings, run)
    inputs = load_inputs(
        inputs_dir / runs.DOCUMENTS["workflow"],
        properties=props if props.is_file() else None,
        sites=sites,
        confine_to=inputs_dir if policy is not None else None,
    )
    # Checked again here, not only at submission: the owner may have been demoted, or the
    # stored documents changed, since the run was accepted.
    forbidden = [
        *site_policy.check_paths(list((run.options or {}).get("reuse") or []), policy, "reuse"),
        *site_policy.check_inputs(inputs, policy),
    ]
    if forbidden:
        raise PolicyError(forbidden)
    submit_dir = runs.submit_dir_for(settings, run.id)
    if submit_dir.exists():  # a planning attempt that died half-way: start clean
        shutil.rmtree(submit_dir)
    sources = {Path(path).name: path for paths in inputs.files.values() for path in paths}
    extra = run.options or {}
    options = PlanOptions(
        submit_dir=submit_dir,
        sites=sites,
        output_sites=extra.get("output_sites") or ["local"],
        staging_sites=dict(extra.get("staging_sites") or {}),
        cleanup=extra.get("cleanup") or "inplace",
        cluster=list(extra.get("cluster") or []),
        reuse=[Path(p) for p in extra.get("reuse") or []],
        force=bool(extra.get("force")),
        seed=extra.get("seed"),
        workflow_file=str(inputs_dir / runs.DOCUMENTS["workflow"]),
        sources=sources,
    )
    write(plan(inputs, options))
    install_wrapper(submit_dir)
    return submit_dir, None


def _site_policy(settings: Settings, run: Run) -> SitePolicy | None:
    """The owner's site policy as of now (None for a trusted owner)."""
    with database(settings).session_scope() as session:
        owner = session.get(User, run.owner_id)
        if owner is None:  # an orphaned run is confined like anybody else
            owner = User(id=run.owner_id, is_admin=False)
        return site_policy.policy_for(settings, owner, run.id)


def plan_run(settings: Settings, run_id: str) -> str:
    """The body of `runs.plan`; returns what it did (for logs and tests)."""
    from worker.engines import EngineError, EngineHandle

    db = database(settings)
    with db.session_scope() as session:
        run = _locked_run(session, run_id)
        if run is None:
            return "gone"
        if RunState(run.state) is not RunState.QUEUED:
            return f"skipped ({run.state})"
        run_events.set_state(session, settings, run, RunState.PLANNING, expected=RunState.QUEUED)
        resume = run.engine_handle if run.submit_dir and Path(run.submit_dir).is_dir() else None
        engine_name = run.engine
        snapshot = Run(
            id=run.id, owner_id=run.owner_id, engine=run.engine, options=dict(run.options or {})
        )

    submit_dir: Path | None = None
    try:
        engine = _engine(engine_name, settings)
        if resume:
            _isolate(settings, engine_name, run_id, snapshot.owner_id)
            handle = engine.resume(EngineHandle.from_json(resume))
            detail = "resumed from the rescue DAG"
        else:
            submit_dir, _ = _plan_files(settings, snapshot)
            _isolate(settings, engine_name, run_id, snapshot.owner_id)
            handle = engine.submit(submit_dir)
            detail = f"planned; {engine_name} engine started"
    except Exception as exc:  # planner problems, engine refusal, disk full: the run fails
        known = isinstance(exc, ProblemsError | EngineError | OSError)
        if not known:
            log.exception("planning run %s crashed", run_id)
        message = str(exc) if known else f"internal error while planning: {exc!r}"
        with db.session_scope() as session:
            run = _locked_run(session, run_id)
            if run is not None and RunState(run.state) is RunState.PLANNING:
                if submit_dir is not None:
                    run.submit_dir = str(submit_dir)
                run_events.set_state(session, settings, run, RunState.FAILED, detail=message)
        return "failed"

    with db.session_scope() as session:
        run = _locked_run(session, run_id)
        if run is None or RunState(run.state) is not RunState.PLANNING:
            engine.remove(handle)  # cancelled (or deleted) while we were planning
            return "cancelled"
        if submit_dir is not None:
            run.submit_dir = str(submit_dir)
        run.engine_handle = handle.to_json()
        run_events.set_state(session, settings, run, RunState.RUNNING, detail=detail)
    return "running"


def _monitor(session: Session, run: Run) -> None:
    from worker.monitor import MonitorError, monitor_run

    try:
        with session.begin_nested():
            monitor_run(session, run.id, run_id=run.id)
    except (MonitorError, OSError, ValueError) as exc:
        log.warning("monitoring run %s: %s", run.id, exc)


def _all_held(counts: dict[str, Any]) -> bool:
    """Every job in the queue is held and nothing else is moving: the run is HELD.

    DAGMan counts held jobs among the queued nodes (NodesQueued) and separately as held
    (JobProcsHeld), so "held >= queued" means no queued job can run until someone releases it.
    """
    held = int(counts.get("held", 0))
    busy = int(counts.get("pre", 0)) + int(counts.get("post", 0))
    return held > 0 and held >= int(counts.get("queued", 0)) and busy == 0


@dataclass
class PollOutcome:
    """What one `poll_run` left behind, for a caller that shows it (`aerie run --wait`)."""

    result: str
    """`poll_run`'s return value."""
    state: RunState | None = None
    """The run's state afterwards; None when the run is gone."""
    counts: dict[str, Any] = field(default_factory=dict)
    """`status_counts` afterwards ({} before the monitor's first pass)."""
    engine_handle: str | None = None
    """The run's engine handle afterwards (a lost engine is resumed under a new one)."""


def poll_run(settings: Settings, run_id: str) -> str:
    """One look at one active run; returns its state afterwards."""
    return _poll(settings, run_id, with_counts=False).result


def poll_run_outcome(settings: Settings, run_id: str) -> PollOutcome:
    """`poll_run`, returning also the run's state, counts and engine handle afterwards, read in
    the same transaction (a watcher needs no second session per poll, and the counts computed
    after the monitor pass are reused)."""
    return _poll(settings, run_id, with_counts=True)


def _poll(settings: Settings, run_id: str, *, with_counts: bool) -> PollOutcome:
    db = database(settings)
    with db.session_scope() as session:
        run = _locked_run(session, run_id)
        if run is None:
            return PollOutcome("gone")
        result, counts = _poll_locked(session, settings, run)
        if with_counts and counts is None:
            counts = runs.status_counts(session, run)
        return PollOutcome(result, RunState(run.state), counts or {}, run.engine_handle)


def _poll_locked(
    session: Session, settings: Settings, run: Run
) -> tuple[str, dict[str, Any] | None]:
    """The body of `poll_run` on the locked run row: (what it returns, the counts after the
    monitor pass if it computed them, else None)."""
    from worker.engines import EngineError, EngineHandle
    from worker.engines import RunState as EngineState

    if run.engine_handle is None:
        return "gone", None
    if RunState(run.state) not in (RunState.RUNNING, RunState.HELD):
        return RunState(run.state).value, None
    before = runs.status_counts(session, run)
    _monitor(session, run)
    handle = EngineHandle.from_json(run.engine_handle)
    engine = _engine(handle.engine, settings)
    status = engine.poll(handle)
    if status.state is EngineState.RUNNING:
        after = runs.status_counts(session, run)
        held = int(after.get("held", 0))
        if RunState(run.state) is RunState.RUNNING and _all_held(after):
            run_events.set_state(
                session, settings, run, RunState.HELD, detail=f"{held} job(s) held"
            )
        elif RunState(run.state) is RunState.HELD and held == 0:
            run_events.set_state(
                session, settings, run, RunState.RUNNING, detail="held jobs released"
            )
        elif after != before and after:
            run_events.record(
                session,
                settings,
                run,
                f"progress: {after['succeeded']}/{after['total']} done, {after['failed']} failed",
            )
        return RunState(run.state).value, after
    if RunState(run.state) is RunState.HELD:  # concluded while held: leave HELD first
        run_events.set_state(session, settings, run, RunState.RUNNING)
    if status.state is EngineState.SUCCEEDED:
        _monitor(session, run)
        run_events.set_state(session, settings, run, RunState.SUCCEEDED, detail=status.detail)
    elif status.state in (EngineState.FAILED, EngineState.REMOVED):
        _monitor(session, run)
        detail = status.detail or f"the DAG ended with exit code {status.exit_code}"
        run_events.set_state(session, settings, run, RunState.FAILED, detail=detail)
    elif status.state is EngineState.LOST:
        try:
            new = engine.resume(handle)
        except EngineError as exc:
            run_events.set_state(
                session, settings, run, RunState.FAILED, detail=f"engine lost: {exc}"
            )
        else:
            run.engine_handle = new.to_json()
            run_events.record(session, settings, run, f"engine died ({status.detail}); resumed")
    return RunState(run.state).value, None


def engine_running(settings: Settings, engine_handle: str) -> bool:
    """Whether the engine behind a handle still runs (no database; a watcher asks this between
    polls to poll at once when the engine ends)."""
    from worker.engines import EngineHandle
    from worker.engines import RunState as EngineState

    handle = EngineHandle.from_json(engine_handle)
    return bool(_engine(handle.engine, settings).poll(handle).state is EngineState.RUNNING)


def poll_all(settings: Settings) -> dict[str, str]:
    """The body of `runs.poll`: every active run, plus the reapers."""
    db = database(settings)
    now = utcnow()
    with db.session_scope() as session:
        active = list(
            session.scalars(
                select(Run.id).where(
                    Run.state.in_([RunState.RUNNING, RunState.HELD]),
                    Run.engine_handle.is_not(None),
                )
            )
        )
        stuck_queued = list(
            session.scalars(
                select(Run.id).where(
                    Run.state == RunState.QUEUED, Run.updated_at < now - STUCK_QUEUED
                )
            )
        )
        stuck_planning = list(
            session.scalars(
                select(Run).where(
                    Run.state == RunState.PLANNING, Run.updated_at < now - STUCK_PLANNING
                )
            )
        )
        for run in stuck_planning:
            run_events.set_state(
                session,
                settings,
                run,
                RunState.FAILED,
                detail="planning was interrupted (worker lost); retry the run",
            )
    results: dict[str, str] = {}
    for run_id in active:
        try:
            results[run_id] = poll_run(settings, run_id)
        except InvalidTransition as exc:
            results[run_id] = f"raced: {exc}"
        except Exception:
            log.exception("polling run %s failed", run_id)
            results[run_id] = "error"
    for run_id in stuck_queued:
        results[run_id] = plan_run(settings, run_id)
    return results


def cancel_run(settings: Settings, run_id: str) -> str:
    """The body of `runs.cancel`: stop the engine of a cancelled run."""
    from worker.engines import EngineError, EngineHandle

    db = database(settings)
    with db.session_scope() as session:
        run = session.get(Run, run_id)
        if run is None or run.engine_handle is None:
            return "no engine"
        handle = EngineHandle.from_json(run.engine_handle)
    try:
        _engine(handle.engine, settings).remove(handle)
    except EngineError as exc:
        log.warning("removing the engine of run %s: %s", run_id, exc)
        return f"error: {exc}"
    return "removed"


@shared_task(name="runs.plan", bind=True, acks_late=True)
def plan_task(self: Task, run_id: str) -> str:
    """Plan a queued run and start its engine (no-op unless the run is QUEUED)."""
    return plan_run(_settings(self), run_id)


@shared_task(name="runs.poll", bind=True, acks_late=True)
def poll_task(self: Task) -> dict[str, str]:
    """Monitor every active run and conclude the finished ones (beat)."""
    return poll_all(_settings(self))


@shared_task(name="runs.cancel", bind=True, acks_late=True)
def cancel_task(self: Task, run_id: str) -> str:
    """Stop the engine of a run that was cancelled."""
    return cancel_run(_settings(self), run_id)
