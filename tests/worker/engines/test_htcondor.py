"""The HTCondor engine offline: Submit.from_dag writes a DAGMan submit file for our DAG, and
every daemon call fails at once with HTCondor's own message. With a real schedd
(`-m htcondor`, e.g. the compose htcondor profile) the shared EngineContract runs too."""

from __future__ import annotations

from pathlib import Path

import htcondor2
import pytest

from tests.worker.engines.conftest import DagDir
from tests.worker.engines.contract import EngineContract, diamond
from worker.engines import get_engine
from worker.engines.base import Engine, EngineError, EngineHandle
from worker.engines.htcondor import write_condor_submit


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


def _schedd_available() -> bool:
    try:
        htcondor2.Schedd()
    except Exception:
        return False
    return True


@pytest.mark.htcondor
@pytest.mark.skipif(not _schedd_available(), reason="needs a running HTCondor schedd")
class TestHTCondorEngine(EngineContract):
    @pytest.fixture
    def engine(self) -> Engine:
        return get_engine("htcondor")
