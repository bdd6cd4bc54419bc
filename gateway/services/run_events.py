"""Run state changes: the one helper that moves a run and tells everyone who listens.

`set_state` wraps `gateway.db.states.transition` (the only writer of `Run.state`), appends a
`RunEvent` row in the same transaction and, once that transaction commits, publishes a wake-up
on the run's channel: Redis pub/sub when a broker is configured (workers and gateway are
different processes), an in-process notifier otherwise. Listeners (the SSE endpoint) always
re-read `run_events` from the database, so a lost or early wake-up costs latency, never events.

Channels are named after the database the run lives in, so two deployments (or two test
sessions) sharing one Redis never hear each other.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from gateway.db.models import Run, RunEvent
from gateway.db.states import RunState, transition
from gateway.settings import Settings

log = logging.getLogger(__name__)

_PENDING_KEY = "aerie.pending_run_events"


def channel_prefix(settings: Settings) -> str:
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
    return f"aerie:{digest}:run:"


def channel(settings: Settings, run_id: str) -> str:
    return channel_prefix(settings) + run_id


class LocalNotifier:
    """In-process pub/sub for the embedded mode: one Condition, a counter per channel."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}

    def publish(self, name: str) -> None:
        with self._cond:
            self._versions[name] = self._versions.get(name, 0) + 1
            self._cond.notify_all()

    def version(self, name: str) -> int:
        with self._cond:
            return self._versions.get(name, 0)

    def wait(self, name: str, seen: int, timeout: float) -> int:
        """Block until `name` moves past `seen` or `timeout` passes; the current version."""
        with self._cond:
            self._cond.wait_for(lambda: self._versions.get(name, 0) != seen, timeout)
            return self._versions.get(name, 0)


LOCAL = LocalNotifier()


def publish(settings: Settings, run_id: str) -> None:
    """Wake listeners of `run_id` (never raises: the DB row is the source of truth)."""
    name = channel(settings, run_id)
    LOCAL.publish(name)
    if settings.redis_url:
        try:
            import redis

            client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
            try:
                client.publish(name, "changed")
            finally:
                client.close()
        except Exception as exc:  # broker down: listeners fall back to polling the DB
            log.warning("could not publish run event for %s: %s", run_id, exc)


def set_state(
    session: Session,
    settings: Settings,
    run: Run,
    target: RunState,
    *,
    detail: str | None = None,
    expected: RunState | None = None,
) -> RunEvent:
    """Move `run` to `target` (InvalidTransition if not allowed) and record the event."""
    transition(run, target, expected=expected, error=detail if target is RunState.FAILED else None)
    row = RunEvent(run_id=run.id, state=target.value, detail=detail)
    session.add(row)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).append((settings, run.id))
    return row


def record(session: Session, settings: Settings, run: Run, detail: str) -> RunEvent:
    """An event without a state change (e.g. progress counts moved, engine resumed)."""
    row = RunEvent(run_id=run.id, state=RunState(run.state).value, detail=detail)
    session.add(row)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).append((settings, run.id))
    return row


def events_after(session: Session, run_id: str, after: int) -> list[RunEvent]:
    stmt = (
        select(RunEvent).where(RunEvent.run_id == run_id, RunEvent.id > after).order_by(RunEvent.id)
    )
    return list(session.scalars(stmt))


@event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    for settings, run_id in session.info.pop(_PENDING_KEY, []):
        publish(settings, run_id)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)
