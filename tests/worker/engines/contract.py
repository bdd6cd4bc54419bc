"""EngineContract: what every engine must do, as one suite each engine's tests subclass.

A subclass provides the `engine` fixture. The submit directories are small DAGs of local
universe shell jobs (tests/worker/engines/conftest.py), so the same suite runs against the
local engine here and against a real schedd where one is available.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.worker.engines.conftest import DagDir
from worker.engines.base import Engine, EngineError, EngineHandle, EngineStatus, RunState


def wait_until_finished(engine: Engine, handle: EngineHandle, timeout: float = 60) -> EngineStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = engine.poll(handle)
        if status.finished or status.state == RunState.LOST:
            return status
        time.sleep(0.1)
    raise AssertionError(f"run did not finish within {timeout} s")


def diamond(d: DagDir, fail_c: int = 0, pause: float = 0) -> Path:
    d.sub("A.sub", f"A {d.root} 0 {pause}")
    d.sub("B.sub", f"B {d.root} 0 {pause}")
    d.sub("C.sub", f"C {d.root} {fail_c} {pause}")
    d.sub("D.sub", f"D {d.root}")
    d.dag(
        "JOB A A.sub\nJOB B B.sub\nJOB C C.sub\nJOB D D.sub\n"
        "PARENT A CHILD B C\nPARENT B C CHILD D\n",
        name="diamond.dag",
    )
    return d.root


class EngineContract:
    @pytest.fixture
    def engine(self) -> Engine:
        raise NotImplementedError

    def test_submit_runs_the_dag_to_success(self, engine: Engine, dagdir: DagDir) -> None:
        handle = engine.submit(diamond(dagdir))
        assert EngineHandle.from_json(handle.to_json()) == handle
        status = wait_until_finished(engine, handle)
        assert status.state == RunState.SUCCEEDED and status.exit_code == 0
        assert status.rescue_file is None
        assert sorted(dagdir.starts()) == ["A", "B", "C", "D"]

    def test_failure_is_reported_with_a_rescue_dag(self, engine: Engine, dagdir: DagDir) -> None:
        handle = engine.submit(diamond(dagdir, fail_c=5))
        status = wait_until_finished(engine, handle)
        assert status.state == RunState.FAILED and status.exit_code == 1
        assert status.dag_status == 2
        assert status.rescue_file is not None and status.rescue_file.endswith(".rescue001")
        assert "D" not in dagdir.starts()

    def test_resume_after_failure_never_reruns_finished_nodes(
        self, engine: Engine, dagdir: DagDir
    ) -> None:
        handle = engine.submit(diamond(dagdir, fail_c=1))
        assert wait_until_finished(engine, handle).state == RunState.FAILED
        resumed = engine.resume(handle)
        assert wait_until_finished(engine, resumed).state == RunState.SUCCEEDED
        starts = dagdir.starts()
        assert starts.count("A") == 1 and starts.count("B") == 1 and starts.count("C") == 2

    def test_remove_stops_the_run_and_resume_completes_it(
        self, engine: Engine, dagdir: DagDir
    ) -> None:
        handle = engine.submit(diamond(dagdir, pause=1.0))
        deadline = time.monotonic() + 30
        while "B" not in dagdir.starts() and time.monotonic() < deadline:
            time.sleep(0.05)
        engine.remove(handle)
        status = wait_until_finished(engine, handle)
        assert status.state == RunState.REMOVED and status.rescue_file is not None
        engine.remove(handle)  # removing a concluded run does nothing
        resumed = engine.resume(handle)
        assert wait_until_finished(engine, resumed).state == RunState.SUCCEEDED
        assert dagdir.starts().count("A") == 1

    def test_a_running_dag_cannot_be_submitted_twice(self, engine: Engine, dagdir: DagDir) -> None:
        handle = engine.submit(diamond(dagdir, pause=0.5))
        try:
            with pytest.raises(EngineError, match="already"):
                engine.submit(Path(handle.submit_dir))
        finally:
            assert wait_until_finished(engine, handle).state == RunState.SUCCEEDED
