"""Fixtures for the job wrapper: the real zipapp, run as a subprocess in a real scratch dir."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from worker.workspace import install_wrapper

REPO = Path(__file__).resolve().parents[3]
# The interpreter that runs the zipapp: worker nodes may have an older Python (>= 3.8).
LITE_PYTHON = os.environ.get("AERIE_LITE_PYTHON", sys.executable)


def shared_dir() -> Path:
    env = os.environ.get("AERIE_SHARED_DIR")
    return Path(env) if env else (REPO / ".." / "shared").resolve()


@pytest.fixture(scope="session")
def wrapper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_wrapper(tmp_path_factory.mktemp("submit"))


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    @property
    def record(self) -> dict[str, Any]:
        recs = [r for r in self.records if r["type"] == "aerie.invocation"]
        assert len(recs) == 1, self.stdout
        return recs[0]


@pytest.fixture
def lite(wrapper: Path):
    """Call ``aerie-lite <args>`` (the installed zipapp) with a given cwd."""

    def call(
        *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
    ) -> Result:
        proc = subprocess.run(
            [LITE_PYTHON, str(wrapper), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return call


@pytest.fixture
def run_job(lite, tmp_path: Path):
    """Write a lite.json into a scratch dir and run it there; defaults fill the required fields."""

    def call(job: dict[str, Any], scratch: Path | None = None, **kw: Any) -> Result:
        scratch = scratch or tmp_path / "scratch"
        scratch.mkdir(exist_ok=True)
        spec = {"version": 1, "job_id": "ID0000001", "transformation": "test::tx:1.0"}
        spec.update(job)
        path = scratch / "job.lite.json"
        path.write_text(json.dumps(spec))
        return lite("run", path.name, cwd=scratch, **kw)

    return call


def py(code: str) -> dict[str, Any]:
    """A lite.json fragment that runs a Python snippet with this interpreter."""
    return {"executable": sys.executable, "arguments": ["-c", code]}


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
