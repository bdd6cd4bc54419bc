"""`aerie status` on a submit dir reads dagman.out exactly as pegasus-status does.

Expected values are pegasus-status' own (its test suite's expectations for these samples).
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from tests.parity.conftest import STATUS_SAMPLES
from worker.pegasus_import.dagman_out import workflow_progress
from worker.pegasus_import.status import status_json, submit_dir_status

# sample: (unready, ready, pre, queued, post, succeeded, failed, percent_done, total, state)
EXPECTED = {
    "sample1": (0, 0, 0, 0, 0, 17, 0, 100.0, 17, "Success"),
    "sample2": (28, 0, 0, 1, 0, 0, 0, 0.0, 29, "Running"),
    "sample3": (9, 0, 0, 0, 0, 8, 3, 40.0, 20, "Failure"),
    "sample4": (21, 0, 0, 4, 0, 4, 0, 13.79, 29, "Failure"),
    "sample5": (0, 0, 0, 0, 0, 0, 0, 0.0, 0, "Failure"),
    "sample1_hr": (0, 0, 0, 0, 0, 33, 0, 100.0, 33, "Success"),
    "sample2_hr": (4, 0, 0, 0, 0, 8, 1, 61.54, 13, "Failure"),
    "sample_started": (0, 0, 0, 0, 0, 0, 0, 0.0, 0, "Running"),
}
SAMPLE2_HR_LONG_DIRS = """
UNREADY READY  PRE  IN_Q  POST  DONE  FAIL %DONE  STATE  DAGNAME
   4      0     0    0     0     8     1   61.54 Failure sample2_hr_failure.dag
   0      0     0    0     0     0     0    0.0  Failure   └─sub_workflows/inner/inner.dag
   4      0     0    0     0     8     1   61.54         TOTALS(13 jobs)
Summary: 2 DAGs total (Failure:2)
"""
KEYS = ("unready", "ready", "pre", "queued", "post", "succeeded", "failed", "percent_done")


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_totals_and_root_state_match_pegasus_status(sample: str) -> None:
    progress = workflow_progress(STATUS_SAMPLES / sample)
    totals = progress.totals()
    *counts, total, state = EXPECTED[sample]
    assert tuple(totals[k] for k in KEYS) == tuple(counts)
    assert totals["total"] == total
    assert progress.root is not None and progress.root.state == state


def test_hierarchical_sub_dags_have_their_own_rows() -> None:
    data = status_json(workflow_progress(STATUS_SAMPLES / "sample1_hr"))
    dags = data["dags"]
    assert isinstance(dags, dict)
    assert {name: (d["succeeded"], d["total"], d["state"]) for name, d in dags.items()} == {
        "root": (13, 13, "Success"),
        "inner": (16, 16, "Success"),
        "sleep-wf-0": (4, 4, "Success"),
    }


def test_failed_sub_dag_without_progress_lines_is_failure() -> None:
    dags = status_json(workflow_progress(STATUS_SAMPLES / "sample2_hr"))["dags"]
    assert isinstance(dags, dict)
    assert dags["inner"]["state"] == "Failure" and dags["inner"]["total"] == 0


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "sample4",
            """
            UNREADY  READY   PRE   QUEUED   POST   SUCCESS  FAILURE  %DONE
               21      0      0      4       0        4        0     13.79
            Summary: 1 DAG total (Failure:1)
            """,
        ),
        (
            "sample1_hr",
            """
            UNREADY  READY   PRE   QUEUED   POST   SUCCESS  FAILURE  %DONE
               0       0      0      0       0       33        0     100.0
            Summary: 3 DAGs total (Success:3)
            """,
        ),
    ],
)
def test_short_text_is_pegasus_status_text(sample: str, expected: str) -> None:
    assert submit_dir_status(STATUS_SAMPLES / sample) == dedent(expected)


@pytest.mark.parametrize(
    ("sample", "dirs", "expected"),
    [
        (
            "sample2",
            False,
            """
            UNREADY READY  PRE  IN_Q  POST  DONE  FAIL %DONE  STATE  DAGNAME
              28      0     0    1     0     0     0    0.0  Running sample_2_held.dag
            Summary: 1 DAG total (Running:1)
            """,
        ),
        ("sample2_hr", True, SAMPLE2_HR_LONG_DIRS),
        (
            "sample_started",
            False,
            """
            UNREADY READY  PRE  IN_Q  POST  DONE  FAIL %DONE  STATE  DAGNAME
               0      0     0    0     0     0     0    0.0  Running sample_started.dag
            Summary: 1 DAG total (Running:1)
            """,
        ),
    ],
)
def test_long_text_is_pegasus_status_text(sample: str, dirs: bool, expected: str) -> None:
    assert submit_dir_status(STATUS_SAMPLES / sample, long=True, dirs=dirs) == dedent(expected)


def test_directory_without_dagman_out_reports_zero_running(tmp_path: Path) -> None:
    progress = workflow_progress(tmp_path)
    assert progress.totals()["total"] == 0
    assert submit_dir_status(tmp_path).endswith("Summary: 1 DAG total (Running:1)\n")
