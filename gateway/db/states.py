"""The run life cycle, and the only code allowed to change `Run.state`.

Every transition is checked against `ALLOWED`. A Celery message may be delivered twice and two
workers may race for the same run; because `transition()` refuses moves that are not allowed
from the *current* state (and can be asked to expect a particular current state), the second
delivery becomes a harmless no-op error instead of a double submission.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from gateway.db.base import utcnow
from gateway.errors import InvalidTransition

if TYPE_CHECKING:
    from gateway.db.models.run import Run


class RunState(enum.StrEnum):
    """Where a run is in its life."""

    QUEUED = "queued"
    PLANNING = "planning"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"


TERMINAL: frozenset[RunState] = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED})

ALLOWED: dict[RunState, frozenset[RunState]] = {
    # Only a queued run may start planning: a redelivered "plan" message finds it PLANNING.
    RunState.QUEUED: frozenset({RunState.PLANNING, RunState.CANCELLED, RunState.HELD}),
    RunState.PLANNING: frozenset({RunState.RUNNING, RunState.FAILED, RunState.CANCELLED}),
    RunState.RUNNING: frozenset(
        {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.HELD}
    ),
    # A held run resumes where it was (queued before planning, running after submission).
    RunState.HELD: frozenset({RunState.QUEUED, RunState.RUNNING, RunState.CANCELLED}),
    # A failed run may be resubmitted (rescue DAG); succeeded and cancelled are final.
    RunState.FAILED: frozenset({RunState.QUEUED}),
    RunState.SUCCEEDED: frozenset(),
    RunState.CANCELLED: frozenset(),
}


def can_transition(current: RunState, target: RunState) -> bool:
    """Whether `current -> target` is an allowed move."""
    return target in ALLOWED[current]


def transition(
    run: Run,
    target: RunState,
    *,
    expected: RunState | None = None,
    error: str | None = None,
) -> None:
    """Move `run` to `target`, stamping timestamps; raise `InvalidTransition` if not allowed.

    `expected` lets a caller say "only if it is still X" (e.g. a task that plans only QUEUED
    runs). `error` is stored on failure and cleared on any other move. The caller commits.
    """
    current = RunState(run.state)
    if expected is not None and current != expected:
        raise InvalidTransition(
            f"run {run.id} is {current.value}, expected {expected.value}",
        )
    if not can_transition(current, target):
        raise InvalidTransition(
            f"run {run.id} cannot go from {current.value} to {target.value}",
        )
    now = utcnow()
    run.state = target
    run.updated_at = now
    if target is RunState.RUNNING and run.started_at is None:
        run.started_at = now
    if target in TERMINAL:
        run.finished_at = now
    elif target is RunState.QUEUED:
        run.finished_at = None
    run.error = error if target is RunState.FAILED else None
