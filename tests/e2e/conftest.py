"""End-to-end fixtures: a Redis database of our own, and a real Celery worker process.

Several people run tests on one machine against one Redis server, so each test session claims
an empty Redis database number (a `SET NX` marker in it) instead of sharing db 0: the Celery
queue and result keys of one session can then never be consumed by another's worker. Pub/sub
channels are global in Redis, but Aerie names them after the database URL (see
`gateway.services.run_events.channel`), which differs per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

REDIS_BASE = os.environ.get("AERIE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REPO = Path(__file__).resolve().parents[2]
CLAIM_KEY = "aerie:test-session-claim"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    token = uuid.uuid4().hex
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{db}")
        try:
            # Only an empty database is free: never touch data someone else keeps there.
            if client.dbsize() == 0 and client.set(CLAIM_KEY, token, nx=True, ex=3 * 3600):
                try:
                    yield f"{REDIS_BASE}/{db}"
                finally:
                    if client.get(CLAIM_KEY) == token.encode():
                        client.flushdb()
                return
        finally:
            client.close()
    pytest.fail("no free Redis database (1-15) to claim for this test session")


@contextmanager
def celery_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`aerie worker -B` (tasks + beat) as a separate process with `env` (AERIE_*)."""
    aerie = Path(sys.executable).with_name("aerie")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(aerie), "worker", "--concurrency", "2", "--loglevel", "INFO", "-B"],
            cwd=REPO,
            env={**os.environ, **env, "AERIE_CONFIG": os.devnull},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while b"ready." not in log.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Celery worker did not start:\n" + log.read_text())
                time.sleep(0.2)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
