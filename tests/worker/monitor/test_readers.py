"""The monitor's file readers against the reference implementations and real samples:
the event-log parser agrees with `htcondor2.JobEventLog`, dagman.out progress matches what
pegasus-status reports for Pegasus's own samples, offsets only move past complete records."""

from __future__ import annotations

import os
from pathlib import Path

import htcondor2
import pytest
from monitor_synth import T0, Node, SubmitDir

from worker.monitor.eventlog import EventLogError, read_events
from worker.monitor.jobstate import read_jobstate
from worker.monitor.nodestatus import scan_dagman_out

SHARED = Path(os.environ.get("AERIE_SHARED_DIR", Path(__file__).parents[3] / ".." / "shared"))

EXTRA = """\
000 (300.000.000) 11/25 08:10:00 Job submitted from host: <10.0.0.1:9618>
    DAG Node: legacy_node
...
012 (300.000.000) 2026-11-25T08:10:05Z Job was held.
\tTransfer input files failure at execution point slot1@node7
\tCode 13 Subcode 2
...
013 (300.000.000) 2026-11-25 08:10:09 Job was released.
\tvia condor_release (by user alice)
...
009 (300.000.000) 2026-11-25 08:10:10.250Z Job was aborted.
\tvia condor_rm (by user alice)
...
005 (301.000.000) 2026-11-25 08:11:00.500Z Job terminated.
\t(0) Abnormal termination (signal 9)
\t(0) No core file
\t\tUsr 0 00:01:02, Sys 0 00:00:03  -  Run Remote Usage
\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage
\t\tUsr 0 00:01:02, Sys 0 00:00:03  -  Total Remote Usage
\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage
\t0  -  Run Bytes Sent By Job
\t0  -  Run Bytes Received By Job
\t0  -  Total Bytes Sent By Job
\t0  -  Total Bytes Received By Job
...
"""


@pytest.fixture
def nodes_log(tmp_path: Path) -> Path:
    sd = SubmitDir(tmp_path / "s")
    a = Node("preprocess_ID1", "t::preprocess", "ID1", retries=1)
    sd.nodes = [a]
    sd.write_plan()
    sd.attempt(a, T0 + 1, T0 + 2.5, T0 + 4.75, 3)
    sd.attempt(a, T0 + 10, T0 + 11, T0 + 14, 0, held_reason="Transfer output files failure")
    path = tmp_path / "s" / f"{sd.dag}.nodes.log"
    with open(path, "a") as fh:
        fh.write(EXTRA)
    return path


def test_events_agree_with_htcondor_jobeventlog(nodes_log: Path) -> None:
    # zone-less and legacy stamps are read in this process's time zone by both readers
    ours, _ = read_events(nodes_log)
    theirs = list(htcondor2.JobEventLog(str(nodes_log)).events(0))
    assert len(ours) == len(theirs) == 14
    for mine, ref in zip(ours, theirs, strict=True):
        assert (mine.code, mine.cluster, mine.proc) == (int(ref.type), ref.cluster, ref.proc)
        assert int(mine.timestamp) == ref.timestamp
        if mine.code == 16:
            assert mine.node == ref["DAGNodeName"]
        if mine.code == 0:
            assert f"DAG Node: {mine.node}" == ref["LogNotes"]
        if "ReturnValue" in ref:
            assert mine.return_value == ref["ReturnValue"]
        if "TerminatedBySignal" in ref:
            assert mine.signal == ref["TerminatedBySignal"]
        if "HoldReason" in ref:
            assert mine.reason == ref["HoldReason"]


def test_sub_second_times_and_usage_are_kept(nodes_log: Path) -> None:
    events, _ = read_events(nodes_log)
    terminated = [e for e in events if e.code == 5]
    assert terminated[0].timestamp == T0 + 4.75
    assert terminated[-1].signal == 9 and terminated[-1].remote_cpu == 65.0


def test_offsets_stop_before_an_incomplete_event(nodes_log: Path) -> None:
    events, end = read_events(nodes_log)
    with open(nodes_log, "a") as fh:
        fh.write("001 (302.000.000) 2026-11-25 08:12:00.000Z Job executing on host: <x>\n")
    more, end2 = read_events(nodes_log, end)
    assert (more, end2) == ([], end)
    with open(nodes_log, "a") as fh:
        fh.write("...\n")
    more, end3 = read_events(nodes_log, end)
    assert [e.cluster for e in more] == [302] and end3 == nodes_log.stat().st_size


def test_bad_header_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "x.nodes.log"
    path.write_text("000 (1.000.000) 2026-11-25 08:00:00 Job submitted\n...\nnonsense\n...\n")
    with pytest.raises(EventLogError, match=r"x\.nodes\.log:3: not a job event header"):
        read_events(path)


def test_jobstate_reader_keeps_incomplete_lines_for_later(tmp_path: Path) -> None:
    path = tmp_path / "jobstate.log"
    path.write_text(
        "1795593600 INTERNAL *** DAGMAN_STARTED 12.0 ***\n"
        "1795593601 a_ID1 SUBMIT 13.0 local - 1\n"
        "1795593602 a_ID1 POST_SCRIPT_STARTED 13.0 local - 1\n1795593603 a_I"
    )
    lines, end = read_jobstate(path)
    assert [(x.node, x.event, x.value, x.sequence) for x in lines] == [
        ("INTERNAL", "DAGMAN_STARTED", "12.0", None),
        ("a_ID1", "SUBMIT", "13.0", 1),
        ("a_ID1", "POST_SCRIPT_STARTED", "13.0", 1),
    ]
    assert end == path.stat().st_size - len("1795593603 a_I")


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        # (done, pre, queued, post, ready, unready, failed, total, exit status)
        ("sample1/sample_1_success.dag.dagman.out", (17, 0, 0, 0, 0, 0, 0, 17, 0)),
        ("sample2/sample_2_held.dag.dagman.out", (0, 0, 1, 0, 0, 28, 0, 29, None)),
    ],
)
def test_dagman_out_progress_matches_pegasus_status_samples(
    sample: str, expected: tuple[int | None, ...]
) -> None:
    text = (SHARED / "pegasus" / "fixtures" / "status" / sample).read_text()
    prog = scan_dagman_out(text)
    assert prog is not None
    got = (prog.done, prog.pre, prog.queued, prog.post, prog.ready, prog.unready, prog.failed,
           prog.nodes_total, prog.exit_status)  # fmt: skip
    assert got == expected
