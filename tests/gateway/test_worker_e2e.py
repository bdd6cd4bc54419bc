"""`aerie worker` and `aerie beat` as real processes on the Redis broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from gateway.settings import Settings
from gateway.tasks import CeleryDispatcher, make_task_queue
from worker.celery_app import create_celery_app

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.redis]

AERIE = str(Path(sys.executable).with_name("aerie"))
REDIS_URL = "redis://127.0.0.1:6379/9"


def start(args: list[str], data_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    env |= {"AERIE_DATA_DIR": str(data_dir), "AERIE_REDIS_URL": REDIS_URL}
    return subprocess.Popen(
        [AERIE, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    return output


def test_worker_runs_what_the_gateway_sends(tmp_path: Path) -> None:
    hostname = f"aerie-test-{uuid.uuid4().hex[:8]}@localhost"
    queue = f"aerie-test-{uuid.uuid4().hex[:8]}"
    proc = start(["worker", "-c", "1", "--hostname", hostname, "-Q", queue], tmp_path)
    settings = Settings(data_dir=tmp_path, redis_url=REDIS_URL)
    app = create_celery_app(settings)
    tasks = make_task_queue(settings)
    assert isinstance(tasks.dispatcher, CeleryDispatcher)
    tasks.dispatcher.app.conf.task_default_queue = queue
    message = f"hello-{uuid.uuid4().hex[:8]}"
    try:
        replies: list[dict[str, object]] = []
        deadline = time.monotonic() + 60
        while not replies and time.monotonic() < deadline and proc.poll() is None:
            replies = app.control.ping(destination=[hostname], timeout=1.0) or []
        assert replies, stop(proc)
        assert hostname in replies[0]
        registered = app.control.inspect(destination=[hostname], timeout=5).registered() or {}
        assert "system.ping" in registered.get(hostname, [])

        tasks.enqueue(None, "system.ping", message)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            stats = app.control.inspect(destination=[hostname], timeout=1).stats() or {}
            if stats.get(hostname, {}).get("total", {}).get("system.ping"):
                break
    finally:
        output = stop(proc)
        app.close()
        tasks.stop()
    assert "succeeded" in output and message in output, output


def test_beat_starts_and_keeps_its_schedule_in_the_data_dir(tmp_path: Path) -> None:
    proc = start(["beat"], tmp_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if list(tmp_path.glob("celerybeat-schedule*")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, stop(proc)
        assert list(tmp_path.glob("celerybeat-schedule*"))
    finally:
        stop(proc)
