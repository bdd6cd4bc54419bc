"""The monitor and the importer read the same Pegasus files alike (they share the format rules).

Where the two keep separate readers (the job wrapper's stdlib kickstart parser against the
importer's libyaml one; the monitor's incremental jobstate.log reader against the importer's
whole-file one), a run monitored and the same run imported must still give the same numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from worker.lite import kickstart as lite_kickstart
from worker.monitor.jobstate import read_jobstate as monitor_jobstate
from worker.monitor.records import iso_epoch
from worker.pegasus_import.jobstate import read_jobstate as import_jobstate
from worker.pegasus_import.kickstart import parse_kickstart


def _shared() -> Path:
    env = os.environ.get("AERIE_SHARED_DIR")
    return Path(env) if env else (Path(__file__).parents[3] / ".." / "shared").resolve()


SUBMIT_DIRS = _shared() / "pegasus" / "fixtures" / "submit-dirs"
RECORD_FILES = sorted(
    p
    for p in SUBMIT_DIRS.rglob("*.out*")
    if p.is_file() and "- invocation:" in p.read_text(errors="replace")
)
JOBSTATE_LOGS = sorted(SUBMIT_DIRS.rglob("jobstate.log"))


def test_there_are_files_to_compare() -> None:
    assert len(RECORD_FILES) >= 20
    assert len(JOBSTATE_LOGS) >= 3


@pytest.mark.parametrize("path", RECORD_FILES, ids=lambda p: str(p.relative_to(SUBMIT_DIRS)))
def test_kickstart_records_give_the_same_invocation_either_way(path: Path) -> None:
    text = path.read_text(errors="replace")
    ours = [lite_kickstart.to_invocation(r) for r in lite_kickstart.invocations(text)]
    imported = parse_kickstart(text).invocations
    assert len(ours) == len(imported) > 0
    for mine, theirs in zip(ours, imported, strict=True):
        assert iso_epoch(mine["start"]) == pytest.approx(theirs.start)
        assert mine["duration"] == pytest.approx(theirs.duration or 0.0)
        assert mine["raw_status"] == theirs.raw
        assert (mine["utime"], mine["stime"]) == pytest.approx((theirs.utime, theirs.stime))
        assert mine["maxrss_kb"] == theirs.maxrss
        assert mine["argv"][1:] == theirs.argv
        assert (mine["executable"], mine["transformation"]) == (
            theirs.executable,
            theirs.transformation,
        )
        assert (mine["hostname"], mine["site"]) == (theirs.hostname, theirs.resource)
        assert (mine["stdout_tail"] or None) == theirs.stdout


@pytest.mark.parametrize("path", JOBSTATE_LOGS, ids=lambda p: str(p.relative_to(SUBMIT_DIRS)))
def test_jobstate_lines_read_the_same_incrementally_and_whole(path: Path) -> None:
    followed, end = monitor_jobstate(path)
    whole = import_jobstate(path)
    assert end == path.stat().st_size
    assert [(x.node, x.event, x.value) for x in followed if x.node == "INTERNAL"] == [
        ("INTERNAL", e.event, e.argument) for e in whole.internal
    ]
    assert [
        (int(x.timestamp), x.node, x.event, x.value, x.site, x.sequence)
        for x in followed
        if x.node != "INTERNAL"
    ] == [(x.timestamp, x.job, x.state, x.info, x.site, x.submit_seq) for x in whole.lines]
