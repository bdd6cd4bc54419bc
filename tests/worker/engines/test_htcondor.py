"""The HTCondor engine offline: Submit.from_dag writes a DAGMan submit file for our DAG, and
every daemon call fails at once with HTCondor's own message.

Against a real schedd the shared EngineContract runs too: the `htcondor` tests are deselected
unless AERIE_TEST_SCHEDD is set (tests/conftest.py) to `local` (the schedd of this host's
HTCondor configuration) or to the pool's collector address; AERIE_TEST_SCHEDD_NAME picks one
schedd of several. The test directories (`--basetemp`) must be at the same path on the schedd's
host. deploy/README.md has the exact commands for the compose `htcondor` profile."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import htcondor2
import pytest

from tests.worker.engines.conftest import DagDir
from tests.worker.engines.contract import EngineContract, diamond
from worker.engines import get_engine
from worker.engines.base import Engine, EngineError, EngineHandle
from worker.engines.htcondor import HTCondorEngine, write_condor_submit


def test_from_dag_writes_the_dagman_submit_file(dagdir: DagDir) -> None:
    root = diamond(dagdir)
    dag = root / "diamond.dag"
    sub = write_condor_submit(dag, "/usr/bin/condor_dagman", batch_name="run-1")
    assert sub == root / "diamond.dag.condor.sub"
    desc = htcondor2.Submit(sub.read_text())
    assert desc["universe"] == "scheduler"
    assert desc["executable"] == "/usr/bin/condor_dagman"
    assert "-Dag diamond.dag" in desc["arguments"] and "-AutoRescue 1" in desc["arguments"]
    assert desc["My.JobBatchName"] == '"run-1"'
    # writing again (a resubmission) updates the file instead of refusing
    assert write_condor_submit(dag, "/usr/bin/condor_dagman") == sub


def test_from_dag_errors_carry_htcondors_message(tmp_path: Path) -> None:
    with pytest.raises(
        EngineError, match=r"Submit.from_dag failed for .*missing.dag does not exist"
    ):
        write_condor_submit(tmp_path / "missing.dag", "/usr/bin/condor_dagman")


def test_daemon_calls_fail_fast_with_a_clear_error(dagdir: DagDir) -> None:
    engine = get_engine("htcondor", dagman_path="/usr/bin/condor_dagman")
    root = diamond(dagdir)
    with pytest.raises(EngineError, match="HTCondor schedd unavailable: .*locate local daemon"):
        engine.submit(root)
    handle = EngineHandle("htcondor", str(root), str(root / "diamond.dag"), "17", 0.0)
    for call in (engine.poll, engine.remove, engine.resume):
        with pytest.raises(EngineError, match="HTCondor schedd unavailable"):
            call(handle)


def test_a_named_pool_is_asked_for_the_schedd(dagdir: DagDir) -> None:
    """A worker on another host finds the schedd through the pool's collector."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for name in (None, "schedd@ap.example.org"):
        engine = get_engine("htcondor", pool=f"127.0.0.1:{port}", schedd_name=name)
        with pytest.raises(EngineError, match="schedd unavailable: Failed communication with coll"):
            engine.submit(diamond(dagdir))


def _test_engine() -> HTCondorEngine:
    target = os.environ["AERIE_TEST_SCHEDD"]
    name = os.environ.get("AERIE_TEST_SCHEDD_NAME") or None
    return HTCondorEngine(pool=None if target == "local" else target, schedd_name=name)


@pytest.mark.htcondor
class TestHTCondorEngine(EngineContract):
    """The same contract as the local engine, on a real schedd (see the module docstring)."""

    @pytest.fixture
    def engine(self) -> Engine:
        engine = _test_engine()
        try:
            engine._schedd()
        except EngineError as exc:
            pytest.fail(f"AERIE_TEST_SCHEDD is set but the schedd is unreachable: {exc}")
        return engine
