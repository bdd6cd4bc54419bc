"""The engine contract for the local engine, plus what only it can show: a LOST run (engine
SIGKILLed) that `resume` completes."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.worker.engines.conftest import DagDir
from tests.worker.engines.contract import EngineContract, diamond, wait_until_finished
from worker.engines import get_engine
from worker.engines.base import Engine, EngineError, EngineHandle, RunState
from worker.engines.local.config import EngineConfig

pytestmark = pytest.mark.slow


class TestLocalEngine(EngineContract):
    @pytest.fixture
    def engine(self, tmp_path: Path) -> Engine:
        return get_engine("local", config=EngineConfig(cpus=4, scratch_root=tmp_path / "s"))

    def test_killed_engine_is_lost_and_resume_finishes_it(
        self, engine: Engine, dagdir: DagDir
    ) -> None:
        handle = engine.submit(diamond(dagdir, pause=1.0))
        deadline = time.monotonic() + 30
        while "B" not in dagdir.starts() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(int(handle.job_id), signal.SIGKILL)
        status = wait_until_finished(engine, handle)
        assert status.state == RunState.LOST
        resumed = engine.resume(handle)
        assert resumed.job_id != handle.job_id
        assert wait_until_finished(engine, resumed).state == RunState.SUCCEEDED
        assert dagdir.starts().count("A") == 1


def test_unknown_engine_and_missing_dag_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="unknown engine 'slurm'"):
        get_engine("slurm")
    with pytest.raises(EngineError, match=r"expected exactly one \*\.dag file, found none"):
        get_engine("local").submit(tmp_path)


def test_a_dag_that_does_not_parse_is_refused_at_submit(tmp_path: Path) -> None:
    (tmp_path / "bad.dag").write_text("JOB A a.sub\nPRIORITY A high\n")
    with pytest.raises(EngineError, match=r"did not start: .*bad.dag:2: PRIORITY must be"):
        get_engine("local").submit(tmp_path)


def test_after_a_reboot_the_run_is_lost_and_resumes_from_the_node_log(
    dagdir: DagDir, tmp_path: Path
) -> None:
    engine = get_engine("local", config=EngineConfig(cpus=4, scratch_root=tmp_path / "s"))
    handle = engine.submit(diamond(dagdir, pause=1.0))
    deadline = time.monotonic() + 30
    while "B" not in dagdir.starts() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(int(handle.job_id), signal.SIGKILL)
    time.sleep(1.5)  # the orphaned B and C finish on their own, as if the host went down now
    dag = Path(handle.dag_file)
    lock = json.loads(dag.with_name(dag.name + ".lock").read_text())
    lock["boot_id"] = "a-previous-boot"
    dag.with_name(dag.name + ".lock").write_text(json.dumps(lock))
    rebooted = EngineHandle(**{**handle.__dict__, "extra": {**handle.extra, "boot_id": "old"}})
    assert engine.poll(rebooted).state == RunState.LOST
    resumed = engine.resume(rebooted)
    assert wait_until_finished(engine, resumed).state == RunState.SUCCEEDED
    assert dagdir.starts().count("A") == 1, "A finished before the 'reboot': not run again"
    assert sorted(set(dagdir.starts())) == ["A", "B", "C", "D"]
