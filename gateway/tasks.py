"""The gateway's only door to Celery: tasks are named, never imported.

`TaskQueue.enqueue(session, name, *args)` sends the task only after `session` commits (and drops
it on rollback), so a worker never looks for a row that is not there yet.

Two dispatchers sit behind it:

- `CeleryDispatcher` (production, `AERIE_REDIS_URL` set): `send_task(name, args)` on a Celery app
  that only knows the broker. The worker processes (`aerie worker`) hold the task code.
- `InProcessDispatcher` (embedded default, no Redis): the worker's Celery app is handed in by the
  composition root (`aerie serve`); a daemon thread takes names off a queue and runs
  `celery_app.tasks[name].apply(args)` in this process, and a second thread fires the entries of
  `celery_app.conf.beat_schedule` when they are due. Task code is identical in both modes.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from celery import Celery
from celery.schedules import schedule as every
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from gateway.settings import Settings

log = logging.getLogger(__name__)

_PENDING_KEY = "aerie.pending_tasks"


class Dispatcher(Protocol):
    """Something that can start a task by name right now."""

    def send(self, name: str, args: Sequence[Any]) -> None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class CeleryDispatcher:
    """Sends tasks to a broker; the gateway process never runs them."""

    def __init__(self, broker_url: str) -> None:
        self.app = Celery("aerie-gateway", broker=broker_url, set_as_current=False)
        self.app.conf.update(task_serializer="json", accept_content=["json"])

    def send(self, name: str, args: Sequence[Any]) -> None:
        self.app.send_task(name, args=list(args))

    def start(self) -> None:
        """Nothing to start: the broker connection is opened on first send."""

    def stop(self) -> None:
        self.app.close()


class UnknownTask(LookupError):
    """A task name that the in-process worker's Celery app does not register."""


class InProcessDispatcher:
    """Runs the worker's tasks on a thread of this process (embedded mode)."""

    def __init__(self, celery_app: Celery, *, run_beat: bool = True) -> None:
        self.celery_app = celery_app
        self.run_beat = run_beat
        self._queue: queue.Queue[tuple[str, tuple[Any, ...]] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def send(self, name: str, args: Sequence[Any]) -> None:
        if name not in self.celery_app.tasks:
            raise UnknownTask(f"no task named {name!r} is registered in the worker's Celery app")
        self._queue.put((name, tuple(args)))

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        self._threads.append(threading.Thread(target=self._work, name="aerie-tasks", daemon=True))
        if self.run_beat and self.celery_app.conf.beat_schedule:
            self._threads.append(
                threading.Thread(target=self._beat, name="aerie-beat", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def join(self) -> None:
        """Block until every task sent so far has run (used by tests and shutdown)."""
        self._queue.join()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                name, args = item
                result = self.celery_app.tasks[name].apply(args=args)
                if result.failed():
                    log.error("task %s%r failed: %s", name, args, result.result)
            except Exception:
                log.exception("task runner crashed on %r", item)
            finally:
                self._queue.task_done()

    def _beat(self) -> None:
        """A minimal celery-beat: checks each schedule entry once a second."""
        last_run: dict[str, datetime] = {}
        started = datetime.now(UTC)
        while not self._stopping.wait(1.0):
            for key, entry in dict(self.celery_app.conf.beat_schedule).items():
                schedule = entry["schedule"]
                if isinstance(schedule, int | float):
                    schedule = every(schedule)
                due, _next = schedule.is_due(last_run.get(key, started))
                if due:
                    last_run[key] = datetime.now(UTC)
                    try:
                        self.send(entry["task"], entry.get("args", ()))
                    except UnknownTask:
                        log.exception("beat entry %s names an unknown task", key)


class NoWorker:
    """Embedded mode without a worker app wired in: enqueueing is a clear error."""

    def send(self, name: str, args: Sequence[Any]) -> None:
        raise RuntimeError(
            f"cannot run task {name!r}: no task runner configured "
            "(start the gateway with `aerie serve`, or set AERIE_REDIS_URL and run `aerie worker`)"
        )

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class TaskQueue:
    """What routes and services use: `enqueue` by name, sent once the transaction commits."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    def enqueue(self, session: Session | None, name: str, *args: Any) -> None:
        """Send `name(*args)` after `session` commits; immediately if there is no session.

        Arguments must be JSON-serialisable (pass ids, not objects). If the transaction rolls
        back instead, the task is never sent.
        """
        if session is None:
            self.dispatcher.send(name, args)
            return
        if not session.in_transaction():
            session.begin()  # the task belongs to this unit of work, even before any SQL
        session.info.setdefault(_PENDING_KEY, []).append((self.dispatcher, name, args))

    def start(self) -> None:
        self.dispatcher.start()

    def stop(self) -> None:
        self.dispatcher.stop()


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    """Fires once the outermost transaction has committed: the rows are visible to workers."""
    for dispatcher, name, args in session.info.pop(_PENDING_KEY, []):
        dispatcher.send(name, args)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    """The outermost transaction rolled back: the rows the tasks would look for are gone.

    (A rolled-back SAVEPOINT inside a transaction that later commits keeps its tasks.)
    """
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def make_task_queue(settings: Settings, celery_app: Celery | None = None) -> TaskQueue:
    """The task queue for this configuration.

    With a broker, tasks go to Celery workers. Without one, they run in-process on
    `celery_app` (the worker's app, handed in by `aerie serve`), or fail loudly if none.
    """
    if settings.redis_url:
        return TaskQueue(CeleryDispatcher(settings.redis_url))
    if celery_app is not None:
        return TaskQueue(InProcessDispatcher(celery_app))
    return TaskQueue(NoWorker())
