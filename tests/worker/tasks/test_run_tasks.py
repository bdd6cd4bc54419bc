"""The run tasks called directly (what Celery runs), with real planner, engine and monitor:
redelivery is harmless, a dead engine is noticed and resumed, lost or stuck runs are reaped."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from gateway.db import migrate
from gateway.db.base import utcnow
from gateway.db.models import DagStatus, Run, RunEvent
from gateway.db.session import Database
from gateway.db.states import RunState
from gateway.services import runs as run_service
from gateway.services import users as user_service
from gateway.settings import Settings
from gateway.tasks import TaskQueue
from tests.gateway.pegasus_workflows import build_pipeline, build_sleeper
from worker.tasks import runs as tasks

pytestmark = pytest.mark.slow


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def send(self, name: str, args: Sequence[Any]) -> None:
        self.sent.append((name, tuple(args)))

    def start(self) -> None: ...

    def stop(self) -> None: ...


@pytest.fixture
def env(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> Iterator[tuple[Settings, Database]]:
    settings = make_settings(tmp_path / "data")
    migrate.upgrade(settings.database_url)
    db = Database.from_settings(settings)
    yield settings, db
    db.dispose()


def _submit(settings: Settings, db: Database, docs: dict[str, Path]) -> str:
    with db.session_scope() as s:
        user = user_service.get_user_by_name(s, "tester") or user_service.create_user(
            s, name="tester"
        )
        sub = run_service.Submission(
            documents={k: p.read_text() for k, p in docs.items()}, execution_sites=["local"]
        )
        return run_service.create_run(s, settings, TaskQueue(_Recorder()), user, sub).id


def _run(db: Database, run_id: str) -> Run:
    with db.session_scope() as s:
        run = s.get(Run, run_id)
        assert run is not None
        return run


def _until(
    settings: Settings, db: Database, run_id: str, states: set[str], timeout: float = 60
) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks.poll_all(settings)
        run = _run(db, run_id)
        if run.state.value in states:
            return run
        time.sleep(0.5)
    raise AssertionError(f"run still {run.state} after {timeout}s")


def test_a_redelivered_plan_message_does_nothing(
    env: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, db = env
    run_id = _submit(settings, db, build_pipeline(tmp_path / "wf"))

    assert tasks.plan_run(settings, run_id) == "running"
    handle = _run(db, run_id).engine_handle
    assert tasks.plan_run(settings, run_id).startswith("skipped")

    assert _run(db, run_id).engine_handle == handle  # no second engine
    done = _until(settings, db, run_id, {"succeeded", "failed"})
    assert done.state is RunState.SUCCEEDED
    with db.session_scope() as s:
        states = list(
            s.scalars(select(RunEvent.state).where(RunEvent.run_id == run_id).order_by(RunEvent.id))
        )
    assert states[0] == "queued" and states[-1] == "succeeded"
    assert states.count("planning") == 1


def test_poll_notices_a_dead_engine_and_resumes_it(
    env: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, db = env
    run_id = _submit(settings, db, build_sleeper(tmp_path / "wf", seconds=30))
    assert tasks.plan_run(settings, run_id) == "running"
    first = json.loads(_run(db, run_id).engine_handle or "{}")
    time.sleep(1.0)

    os.kill(int(first["job_id"]), signal.SIGKILL)
    time.sleep(0.5)
    assert tasks.poll_run(settings, run_id) == "running"

    second = json.loads(_run(db, run_id).engine_handle or "{}")
    assert second["job_id"] != first["job_id"]
    with db.session_scope() as s:
        details = list(s.scalars(select(RunEvent.detail).where(RunEvent.run_id == run_id)))
    assert any(d and "engine died" in d for d in details)

    with db.session_scope() as s:
        run = s.get(Run, run_id)
        assert run is not None
        run_service.run_events.set_state(s, settings, run, RunState.CANCELLED)
    assert tasks.cancel_run(settings, run_id) == "removed"


def test_reapers_replan_lost_queued_runs_and_fail_stuck_planning(
    env: tuple[Settings, Database], tmp_path: Path
) -> None:
    settings, db = env
    lost = _submit(settings, db, build_pipeline(tmp_path / "a"))
    stuck = _submit(settings, db, build_pipeline(tmp_path / "b"))
    with db.session_scope() as s:
        run = s.get(Run, stuck)
        assert run is not None
        run_service.run_events.set_state(s, settings, run, RunState.PLANNING)
        long_ago = utcnow() - timedelta(hours=2)
        s.flush()
        s.execute(update(Run).where(Run.id.in_([lost, stuck])).values(updated_at=long_ago))

    results = tasks.poll_all(settings)

    assert results[lost] == "running"
    failed = _run(db, stuck)
    assert failed.state is RunState.FAILED
    assert failed.error is not None and "interrupted" in failed.error
    _until(settings, db, lost, {"succeeded"})


def test_a_run_whose_queued_jobs_are_all_held_is_held_until_released(
    env: tuple[Settings, Database], tmp_path: Path
) -> None:
    """DAGMan reports held jobs in its node status (the monitor copies them into `dagstatus`);
    here the held count is written the way the monitor would, while the job sleeps."""
    settings, db = env
    run_id = _submit(settings, db, build_sleeper(tmp_path / "wf", seconds=30))
    assert tasks.plan_run(settings, run_id) == "running"
    deadline = time.monotonic() + 30
    while True:
        tasks.poll_run(settings, run_id)
        with db.session_scope() as s:
            run = s.get(Run, run_id)
            assert run is not None
            counts = run_service.status_counts(s, run)
            wf = run_service.root_workflow(s, run)
        if counts.get("queued") == 1:
            break
        assert time.monotonic() < deadline, counts
        time.sleep(0.3)
    assert wf is not None

    def set_held(n: int) -> None:
        with db.session_scope() as s:
            s.execute(update(DagStatus).where(DagStatus.wf_id == wf.wf_id).values(held=n))

    set_held(1)
    assert tasks.poll_run(settings, run_id) == "held"
    assert tasks.poll_run(settings, run_id) == "held"  # stays held, no duplicate event
    set_held(0)
    assert tasks.poll_run(settings, run_id) == "running"

    with db.session_scope() as s:
        events = [
            (e.state, e.detail)
            for e in s.scalars(
                select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id)
            )
        ]
        run = s.get(Run, run_id)
        assert run is not None
        run_service.run_events.set_state(s, settings, run, RunState.CANCELLED)
    assert ("held", "1 job(s) held") in events
    assert events.count(("held", "1 job(s) held")) == 1
    assert ("running", "held jobs released") in events
    assert tasks.cancel_run(settings, run_id) == "removed"
