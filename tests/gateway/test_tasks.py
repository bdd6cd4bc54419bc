"""Tasks are sent by name, only after commit, and run in-process in the embedded default."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from celery import Celery
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gateway.db.models import User
from gateway.main import create_app
from gateway.settings import Settings
from gateway.tasks import InProcessDispatcher, TaskQueue, UnknownTask, make_task_queue
from worker.celery_app import BEAT_SCHEDULE, create_celery_app


class RecordingDispatcher:
    """Stands in for the broker: records what would cross the process boundary."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    def send(self, name: str, args: Sequence[Any]) -> None:
        self.sent.append((name, tuple(args)))

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@pytest.fixture
def worker_app(sqlite_settings: Settings) -> Iterator[Celery]:
    """The real worker Celery app, plus one test task that records its calls."""
    app = create_celery_app(sqlite_settings)
    calls: list[tuple[Any, ...]] = []
    done = threading.Event()

    @app.task(name="test.record", shared=False)
    def record(*args: Any) -> None:
        calls.append(args)
        done.set()

    app.conf.test_calls = calls
    app.conf.test_done = done
    yield app


def test_enqueue_waits_for_commit(session: Session) -> None:
    dispatcher = RecordingDispatcher()
    tasks = TaskQueue(dispatcher)

    session.add(User(name="queued_alice"))
    tasks.enqueue(session, "runs.plan", "run-1")
    assert dispatcher.sent == []

    session.commit()
    assert dispatcher.sent == [("runs.plan", ("run-1",))]


def test_enqueue_is_dropped_on_rollback(session: Session) -> None:
    dispatcher = RecordingDispatcher()
    tasks = TaskQueue(dispatcher)

    tasks.enqueue(session, "runs.plan", "run-2")
    session.rollback()
    session.commit()

    assert dispatcher.sent == []


def test_in_process_mode_runs_worker_tasks(worker_app: Celery) -> None:
    tasks = TaskQueue(InProcessDispatcher(worker_app))
    tasks.start()
    try:
        tasks.enqueue(None, "test.record", 1, "two")
        assert worker_app.conf.test_done.wait(5)
    finally:
        tasks.stop()
    assert worker_app.conf.test_calls == [(1, "two")]


def test_unknown_task_names_fail_loudly(worker_app: Celery) -> None:
    with pytest.raises(UnknownTask, match="no.such.task"):
        InProcessDispatcher(worker_app).send("no.such.task", ())


def test_embedded_app_runs_tasks_in_process(sqlite_settings: Settings, worker_app: Celery) -> None:
    """`aerie serve` hands the worker's app to create_app; the gateway only names tasks."""
    app = create_app(sqlite_settings, celery_app=worker_app)
    assert isinstance(app.state.tasks.dispatcher, InProcessDispatcher)
    with TestClient(app):
        app.state.tasks.enqueue(None, "test.record", "hello")
        assert worker_app.conf.test_done.wait(5)
    assert worker_app.conf.test_calls == [("hello",)]


def test_beat_entries_fire_in_process(worker_app: Celery) -> None:
    worker_app.conf.beat_schedule = {"record": {"task": "test.record", "schedule": 0.1}}
    dispatcher = InProcessDispatcher(worker_app)
    dispatcher.start()
    try:
        assert worker_app.conf.test_done.wait(5)
    finally:
        dispatcher.stop()


def test_without_a_worker_enqueueing_explains_itself(sqlite_settings: Settings) -> None:
    tasks = make_task_queue(sqlite_settings)
    with pytest.raises(RuntimeError, match="aerie serve"):
        tasks.enqueue(None, "system.ping")


def test_every_scheduled_task_is_registered(sqlite_settings: Settings) -> None:
    app = create_celery_app(sqlite_settings)
    assert "system.ping" in app.tasks
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


@pytest.mark.redis
def test_with_a_broker_tasks_go_to_redis(sqlite_settings: Settings) -> None:
    """With AERIE_REDIS_URL, the gateway publishes to the broker and runs nothing itself."""
    import uuid

    import redis

    db_number = 15
    url = f"redis://127.0.0.1:6379/{db_number}"
    settings = sqlite_settings.model_copy(update={"redis_url": url})
    tasks = make_task_queue(settings)
    queue_name = f"aerie-test-{uuid.uuid4().hex[:8]}"
    tasks.dispatcher.app.conf.task_default_queue = queue_name  # type: ignore[attr-defined]
    client = redis.Redis.from_url(url)
    try:
        tasks.enqueue(None, "system.ping", "via-redis")
        assert client.llen(queue_name) == 1
        assert b"system.ping" in (client.lindex(queue_name, 0) or b"")
    finally:
        client.delete(queue_name)
        client.close()
        tasks.stop()
