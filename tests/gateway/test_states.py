"""Run states move only along allowed transitions, stamping times as they go."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from gateway.db.models import Run, User
from gateway.db.states import ALLOWED, TERMINAL, RunState, transition
from gateway.errors import InvalidTransition


@pytest.fixture
def run(session: Session) -> Run:
    owner = User(name="state_owner")
    session.add(owner)
    session.flush()
    new = Run(owner_id=owner.id, name="diamond")
    session.add(new)
    session.commit()
    return new


def test_a_new_run_is_queued_with_a_uuid(run: Run) -> None:
    assert run.state is RunState.QUEUED
    assert len(run.id) == 36
    assert run.labels == {}
    assert run.started_at is None


def test_happy_path_stamps_times(session: Session, run: Run) -> None:
    transition(run, RunState.PLANNING, expected=RunState.QUEUED)
    transition(run, RunState.RUNNING)
    assert run.started_at is not None
    transition(run, RunState.SUCCEEDED)
    session.commit()
    session.refresh(run)

    assert run.state is RunState.SUCCEEDED
    assert run.finished_at is not None
    assert run.finished_at >= run.started_at


def test_a_redelivered_message_cannot_plan_twice(run: Run) -> None:
    transition(run, RunState.PLANNING, expected=RunState.QUEUED)
    with pytest.raises(InvalidTransition, match="expected queued"):
        transition(run, RunState.PLANNING, expected=RunState.QUEUED)


def test_failure_keeps_the_error_and_retry_clears_it(run: Run) -> None:
    transition(run, RunState.PLANNING)
    transition(run, RunState.FAILED, error="planner: no site for job j1")
    assert run.error == "planner: no site for job j1"

    transition(run, RunState.QUEUED)
    assert run.error is None
    assert run.finished_at is None


@pytest.mark.parametrize("final", sorted(TERMINAL - {RunState.FAILED}))
def test_final_states_are_final(run: Run, final: RunState) -> None:
    run.state = final
    for target in RunState:
        with pytest.raises(InvalidTransition):
            transition(run, target)


def test_every_state_has_a_rule() -> None:
    assert set(ALLOWED) == set(RunState)
