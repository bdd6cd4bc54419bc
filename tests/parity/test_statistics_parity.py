"""`aerie statistics -s all -o DIR` on imported runs writes what pegasus-statistics 5.1.3 wrote.

`expected/<run>/*.txt` are the real tool's outputs on Pegasus's own stampede.db (see
expected/README.md); the runs are imported from copies without that database, and every file
is compared byte for byte. Nothing is dropped from the comparison: the files carry no
database ids and no generation footer. Only Aerie's extra `hosts.txt` has no Pegasus twin.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.db.models.user import User
from gateway.services import statistics as st
from gateway.services.statistics_report import LEVELS, statistics_report
from tests.parity.conftest import copy_without_stampede
from worker.pegasus_import.importer import import_submit_dir

EXPECTED = Path(__file__).parent / "expected"
RUNS = ["process_wf_success", "process_wf_failure", "sample_wf_held", "hierarchical_wf_failure"]
PEGASUS_FILES = ["summary.txt", "workflow.txt", "jobs.txt", "breakdown.txt", "integrity.txt",
                 "time.txt"]  # fmt: skip
AERIE_ONLY = {"hosts.txt"}


@pytest.fixture
def utc() -> Iterator[None]:
    """time.txt buckets by local time; the reference was made with TZ=UTC."""
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


@pytest.mark.parametrize("run", RUNS)
def test_every_statistics_file_is_pegasus_byte_for_byte(
    session: Session, imported: Callable[[str], int], run: str, utc: None
) -> None:
    files = statistics_report(session, imported(run), LEVELS).files
    assert set(files) == set(PEGASUS_FILES) | AERIE_ONLY
    for name in PEGASUS_FILES:
        expected = (EXPECTED / run / name).read_text()
        assert files[name] == expected, f"{run}/{name} differs from pegasus-statistics"


def test_breakdown_has_dagman_post_rows(session: Session, imported: Callable[[str], int]) -> None:
    text = statistics_report(session, imported("process_wf_failure"), ["tf_stats"]).files
    rows = [line.split() for line in text["breakdown.txt"].splitlines()]
    assert ["dagman::post", "failed", "2"] in [r[:3] for r in rows]


def test_hour_filter_keeps_pegasus_layout(
    session: Session, imported: Callable[[str], int], utc: None
) -> None:
    """-t hour: same tables, `Date[YYYY-MM-DD : HH]` labels, the day's counts split by hour."""
    wf = imported("process_wf_success")
    by_day = statistics_report(session, wf, ["ti_stats"], "day").files["time.txt"]
    by_hour = statistics_report(session, wf, ["ti_stats"], "hour").files["time.txt"]
    assert "Date[YYYY-MM-DD : HH]         Count               Runtime (sec)       \n" in by_hour

    def counts(text: str, label_len: int) -> int:
        lines = text.split("# Job instances statistics per")[1].split("\n\n")[0].splitlines()[2:]
        return sum(int(line[30:50]) for line in lines if line[:label_len].strip())

    assert counts(by_hour, 21) == counts(by_day, 16) > 0


@pytest.mark.slow
def test_cli_writes_the_files_and_prints_the_summary(tmp_path: Path) -> None:
    """`aerie import` then `aerie statistics -s all -o DIR`, as a user runs them."""
    run = "hierarchical_wf_failure"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_")}
    env.update(AERIE_DATA_DIR=str(tmp_path / "data"), AERIE_CONFIG=os.devnull, TZ="UTC")
    aerie = [str(Path(sys.executable).parent / "aerie")]
    submit = copy_without_stampede(run, tmp_path / "runs")

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([*aerie, *args], env=env, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        return res

    call("users", "create", "alice")
    call("import", str(submit), "--owner", "alice")
    out = tmp_path / "stats"
    res = call("statistics", str(submit), "-s", "all", "-o", str(out))
    for name in PEGASUS_FILES:
        assert (out / name).read_text() == (EXPECTED / run / name).read_text(), name
    summary = (EXPECTED / run / "summary.txt").read_text()
    assert res.stdout.startswith(summary + "\n")
    assert f"Job instance statistics       : {out / 'jobs.txt'}\n" in res.stdout
