"""`aerie analyze` and `aerie status` on imported runs print what pegasus-analyzer and
pegasus-status printed for the same runs (expected/<run>/analyzer.txt, SPEC §6.1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.db.models.user import User
from gateway.services import provenance as pv
from gateway.services import statistics as st
from worker.pegasus_import.importer import import_submit_dir

EXPECTED = Path(__file__).parent / "expected"
RUNS = ["process_wf_success", "process_wf_failure", "sample_wf_held", "hierarchical_wf_failure"]
# Tool names differ, and only pegasus-analyzer stops before its footer on failure.
FOOTER = re.compile(r"^(\**Done\**|.*: end of status report)$")
DB_ID = re.compile(r"^(last_job_instance_id\s+:) \d+$")


def report_lines(text: str) -> list[str]:
    lines = [DB_ID.sub(r"\1 <id>", line.rstrip()) for line in text.splitlines()]
    lines = [line for line in lines if not FOOTER.match(line)]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@pytest.fixture
def imported(session: Session, run_copy: Callable[[str], Path]) -> Callable[[str], int]:
    owner = User(name="analyzer-parity")
    session.add(owner)
    session.flush()

    def load(name: str) -> int:
        result = import_submit_dir(session, run_copy(name), owner)
        return st.workflow_by_uuid(session, result.wf_uuid)

    return load


@pytest.mark.parametrize("run", RUNS)
def test_analyzer_report(session: Session, imported: Callable[[str], int], run: str) -> None:
    wf = imported(run)
    mine = report_lines(pv.render_analysis(pv.analyze(session, wf)))
    assert mine == report_lines((EXPECTED / run / "analyzer.txt").read_text())


def test_held_job_section_names_the_hold_reason(
    session: Session, imported: Callable[[str], int]
) -> None:
    analysis = pv.analyze(session, imported("sample_wf_held"))
    (held,) = analysis.held_jobs
    assert held.name == "chebi_drug_loader_ID0000001"
    assert held.reason is not None and "Transfer output files failure" in held.reason
    assert (analysis.total, analysis.succeeded, analysis.failed, analysis.held) == (8, 2, 1, 1)


# pegasus-status' progress row for these runs, from their dagman.out (SPEC §6.1 observed
# `0 0 0 0 0 2 1 25.0 Failure Drug-Combination-Therapy-0.dag` for the held run).
STATUS = {
    "sample_wf_held": (0, 0, 0, 0, 0, 2, 1, 25.0, "Failure"),
    "process_wf_success": (0, 0, 0, 0, 0, 5, 0, 100.0, "Success"),
    "process_wf_failure": (0, 0, 0, 0, 0, 1, 1, 20.0, "Failure"),
}


@pytest.mark.parametrize("run", sorted(STATUS))
def test_status_of_imported_run(
    session: Session, run_copy: Callable[[str], Path], run: str
) -> None:
    from worker.pegasus_import.dagman_out import workflow_progress

    owner = User(name="status-parity")
    session.add(owner)
    session.flush()
    path = run_copy(run)
    wf = st.workflow_by_uuid(session, import_submit_dir(session, path, owner).wf_uuid)
    report = pv.status(session, wf)
    *counts, percent, state = STATUS[run]
    assert report.dags[0].state == state
    text = pv.render_status(report, long=True)
    row = next(line for line in text.splitlines() if line.rstrip().endswith(".dag"))
    assert [float(v) for v in row.split()[:8]] == [*counts, percent]
    # and the same text as pegasus-status on the submit dir (tests/parity/test_status_samples)
    from worker.pegasus_import.status import submit_dir_status

    for long in (False, True):
        assert "\n" + pv.render_status(report, long=long) == submit_dir_status(path, long=long)
    root = workflow_progress(path).root
    assert root is not None and root.state == state
    assert (root.unready, root.ready, root.pre, root.queued, root.post, root.succeeded,
            root.failed, root.percent_done) == (*counts, percent)  # fmt: skip
