"""When `aerie run --wait` polls again (gateway/cli/run.py `_wait_for_news`): at once when the
engine's node status file changed or the engine ended, after REFRESH seconds otherwise, and not
on every tick of `--interval` in between."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from gateway.cli import run as run_cli
from gateway.settings import Settings
from worker.tasks import runs as run_tasks


@pytest.fixture
def handle(tmp_path: Path) -> tuple[str, Path]:
    dag = tmp_path / "wf-0.dag"
    status = tmp_path / "wf-0.dag.status"
    status.write_text('[ Type = "DagStatus"; NodesDone = 0; ]\n')
    return json.dumps({"engine": "local", "dag_file": str(dag), "job_id": "1"}), status


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _timed(fn: object, *args: object) -> float:
    started = time.monotonic()
    fn(*args)  # type: ignore[operator]
    return time.monotonic() - started


def test_a_status_file_rewrite_ends_the_wait_within_an_interval(
    handle: tuple[str, Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_handle, status = handle
    looks: list[str] = []

    def running(settings: Settings, engine_handle: str) -> bool:
        looks.append(engine_handle)
        return True

    monkeypatch.setattr(run_tasks, "engine_running", running)
    seen = run_cli._stamp(status)

    def rewrite() -> None:
        time.sleep(0.3)
        status.with_suffix(".tmp").write_text('[ Type = "DagStatus"; NodesDone = 7; ]\n')
        status.with_suffix(".tmp").replace(status)

    threading.Thread(target=rewrite).start()
    waited = _timed(run_cli._wait_for_news, settings, engine_handle, seen, 0.1)
    assert 0.3 <= waited < 1.5
    assert looks and set(looks) == {engine_handle}


def test_the_engine_ending_ends_the_wait(
    handle: tuple[str, Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_handle, status = handle
    ticks = iter([True, True, False])
    monkeypatch.setattr(run_tasks, "engine_running", lambda s, h: next(ticks))
    waited = _timed(run_cli._wait_for_news, settings, engine_handle, run_cli._stamp(status), 0.1)
    assert 0.25 <= waited < 1.5


def test_nothing_new_polls_after_refresh_not_every_interval(
    handle: tuple[str, Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_handle, status = handle
    looks: list[str] = []

    def running(settings: Settings, engine_handle: str) -> bool:
        looks.append(engine_handle)
        return True

    monkeypatch.setattr(run_tasks, "engine_running", running)
    monkeypatch.setattr(run_cli, "REFRESH", 0.6)
    waited = _timed(run_cli._wait_for_news, settings, engine_handle, run_cli._stamp(status), 0.1)
    assert 0.6 <= waited < 1.5
    assert 3 <= len(looks) <= 6  # looked every interval, polled once


def test_a_missing_status_file_is_waited_for_and_noticed(
    handle: tuple[str, Path], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_handle, status = handle
    status.unlink()
    monkeypatch.setattr(run_tasks, "engine_running", lambda s, h: True)

    def create() -> None:
        time.sleep(0.2)
        status.write_text('[ Type = "DagStatus"; ]\n')

    threading.Thread(target=create).start()
    waited = _timed(run_cli._wait_for_news, settings, engine_handle, None, 0.1)
    assert 0.2 <= waited < 1.5
