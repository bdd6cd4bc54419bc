"""The worker's Celery app: one registry of explicitly named tasks.

`create_celery_app(settings)` builds it from Aerie's settings: with `AERIE_REDIS_URL` it is a
normal broker-backed app for `aerie worker` / `aerie beat`; without it, it is only a task
registry that `aerie serve` runs in-process (see `gateway.tasks.InProcessDispatcher`).

To add tasks: write them in a module under `worker/tasks/` with `@shared_task(name="area.verb")`
and list the module in `TASK_MODULES`. Periodic tasks go in `BEAT_SCHEDULE`.
"""

from __future__ import annotations

import importlib
from typing import Any

from celery import Celery

from gateway.settings import Settings, get_settings

TASK_MODULES: list[str] = [
    "worker.tasks.system",
    "worker.tasks.runs",
]
"""Every module that defines tasks; imported when the app is created so names are registered."""

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "runs-poll": {"task": "runs.poll", "schedule": 3.0},
}
"""Periodic tasks: {"key": {"task": "area.verb", "schedule": seconds_or_celery_schedule}}."""


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app configured from `settings`, with every task module imported."""
    app = Celery("aerie", set_as_current=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file there
    app.conf.update(
        broker_url=settings.redis_url or "memory://",
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        beat_schedule=dict(BEAT_SCHEDULE),
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
    )
    app.conf.aerie_settings = settings
    for module in TASK_MODULES:
        importlib.import_module(module)
    app.set_default()
    return app


def _lazy_app() -> Celery:
    """For `celery -A worker.celery_app` users: the app for the process-wide settings."""
    return create_celery_app(get_settings())


def __getattr__(name: str) -> Any:
    """Build `worker.celery_app.app` on first access rather than at import time."""
    if name in {"app", "celery"}:
        value = _lazy_app()
        globals()[name] = value
        return value
    raise AttributeError(name)
