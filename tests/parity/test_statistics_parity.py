"""Statistics of imported runs print what pegasus-statistics 5.1.3 printed for the same runs.

`expected/<run>/*.txt` are the real tool's outputs on Pegasus's own stampede.db (see
expected/README.md); the runs are imported from copies without that database. Data lines are
compared exactly (whitespace-normalised); the legend comments come from the file composer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.db.models.user import User
from gateway.services import statistics as st
from gateway.services import statistics_text as tx
from tests.parity.conftest import SUBMIT_DIRS
from worker.pegasus_import.importer import import_submit_dir

EXPECTED = Path(__file__).parent / "expected"
RUNS = ["process_wf_success", "process_wf_failure", "sample_wf_held", "hierarchical_wf_failure"]
LEGEND_ROWS = ("check - means", "compute - means", "of records matching", "file-type combo")


def data_lines(text: str) -> list[str]:
    """Table rows and figure lines: no comments, rules, blank lines or column headers."""
    out = []
    for line in text.splitlines():
        if (
            not line.strip()
            or line.startswith(("#", "---"))
            or line.strip().startswith(LEGEND_ROWS)
        ):
            continue
        if line.startswith(("Type ", "Transformation ", "Job ", "Date[")):
            continue
        out.append(" ".join(line.split()))
    return out


@pytest.fixture
def utc() -> Iterator[None]:
    """time.txt buckets by local time; the reference was made with TZ=UTC."""
    import os

    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
def imported(session: Session, run_copy: Callable[[str], Path]) -> Callable[[str], int]:
    owner = User(name="stats-parity")
    session.add(owner)
    session.flush()

    def load(name: str) -> int:
        result = import_submit_dir(session, run_copy(name), owner)
        return st.workflow_by_uuid(session, result.wf_uuid)

    return load


def _scope(session: Session, wf: int) -> list[int]:
    return [wf] + [w.wf_id for w in st.descendants(session, wf) if w.wf_id != wf]


def test_held_run_summary_is_the_fixture_summary_byte_for_byte(
    session: Session, imported: Callable[[str], int]
) -> None:
    wf = imported("sample_wf_held")
    expected = (SUBMIT_DIRS / "sample_wf_held" / "statistics" / "summary.txt").read_text()
    assert tx.render_summary(st.summary(session, wf)) == expected


@pytest.mark.parametrize("run", RUNS)
def test_summary_figures(session: Session, imported: Callable[[str], int], run: str) -> None:
    wf = imported(run)
    mine = data_lines(tx.render_summary(st.summary(session, wf)))
    assert mine == data_lines((EXPECTED / run / "summary.txt").read_text())


@pytest.mark.parametrize("run", RUNS)
def test_job_instance_table(session: Session, imported: Callable[[str], int], run: str) -> None:
    wf = imported(run)
    mine = data_lines(tx.render_jobs("", st.job_statistics(session, wf)))
    assert mine == data_lines((EXPECTED / run / "jobs.txt").read_text())


@pytest.mark.parametrize("run", RUNS)
def test_transformation_breakdown_with_dagman_post_rows(
    session: Session, imported: Callable[[str], int], run: str
) -> None:
    wf = imported(run)
    text = tx.render_breakdown("", st.transformation_statistics(session, [wf]))
    text += tx.render_breakdown("All", st.transformation_statistics(session, _scope(session, wf)))
    mine = data_lines(text)
    assert any(line.startswith("dagman::post ") for line in mine)
    assert mine == data_lines((EXPECTED / run / "breakdown.txt").read_text())


@pytest.mark.parametrize("run", RUNS)
def test_integrity_and_workflow_tables(
    session: Session, imported: Callable[[str], int], run: str
) -> None:
    wf = imported(run)
    scope = _scope(session, wf)
    integrity = tx.render_integrity("", st.integrity_metrics(session, [wf], by_file_type=True))
    integrity += tx.render_integrity("All", st.integrity_metrics(session, scope, by_file_type=True))
    assert data_lines(integrity) == data_lines((EXPECTED / run / "integrity.txt").read_text())
    blocks = ""
    for w in scope:
        info = st.workflow_info(session, w)
        blocks += tx.render_workflow_block(
            f"{info.wf_uuid} ({info.dax_label})", st.task_counts(session, [w]),
            st.job_counts(session, [w], "nonsub"), st.job_counts(session, [w], "subwf"),
            st.workflow_retries(session, [w]),
        )  # fmt: skip
    blocks += tx.render_workflow_block(
        "All Workflows", st.task_counts(session, scope), st.job_counts(session, scope, "nonsub"),
        st.job_counts(session, scope, "subwf"), st.workflow_retries(session, scope),
    )  # fmt: skip
    assert data_lines(blocks) == data_lines((EXPECTED / run / "workflow.txt").read_text())


@pytest.mark.parametrize("run", RUNS)
def test_time_series(session: Session, imported: Callable[[str], int], run: str, utc: None) -> None:
    wf = imported(run)
    mine = data_lines(tx.render_time(st.time_series(session, _scope(session, wf))))
    assert mine == data_lines((EXPECTED / run / "time.txt").read_text())
