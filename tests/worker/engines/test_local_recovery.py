"""Recovery mode's pieces on hand-made logs: cutting a half-written event, replaying what the
dead engine recorded (done / failed / in flight, with and without POST), the next cluster id."""

from __future__ import annotations

from pathlib import Path

import htcondor2

from worker.engines.local.eventlog import EventLogWriter, Usage
from worker.engines.local.recovery import (
    max_cluster,
    replay,
    truncate_partial_events,
    truncate_partial_line,
)


def test_a_half_written_event_is_cut_and_the_log_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "x.nodes.log"
    log = EventLogWriter(path)
    log.submit(1, 1.0e9, "A")
    log.terminated(1, 1.0e9 + 1, 0, None, Usage())
    log.close()
    complete = path.read_bytes()
    path.write_bytes(complete + b"005 (002.000.000) 2001-09-09 01:46:42.000Z Job terminated.\n\t(1")
    truncate_partial_events(path)
    assert path.read_bytes() == complete
    log = EventLogWriter(path)  # a restarted engine appends after the cut
    log.submit(3, 1.0e9 + 5, "B")
    log.close()
    events = list(htcondor2.JobEventLog(str(path)).events(0))
    assert [ev.cluster for ev in events] == [1, 1, 3]
    assert max_cluster(path) == 3
    jobstate = tmp_path / "jobstate.log"
    jobstate.write_text("1 A SUBMIT 1.0 - - 1\n2 A EXEC")
    truncate_partial_line(jobstate)
    assert jobstate.read_text() == "1 A SUBMIT 1.0 - - 1\n"


def test_replay_tells_done_failed_and_in_flight_nodes_apart(tmp_path: Path) -> None:
    path = tmp_path / "x.nodes.log"
    old = EventLogWriter(path)
    old.submit(1, 1.0e9, "before")  # written by an earlier run: ignored
    old.terminated(1, 1.0e9, 1, None, Usage())
    old.close()
    offset = path.stat().st_size
    log = EventLogWriter(path)
    t = 1.0e9 + 10
    log.submit(2, t, "plain_ok")
    log.terminated(2, t, 0, None, Usage())
    log.submit(3, t, "post_ok")
    log.terminated(3, t, 1, None, Usage())
    log.post_script_terminated(3, t, "post_ok", 0, None)
    log.submit(4, t, "post_pending")
    log.terminated(4, t, 0, None, Usage())
    log.submit(5, t, "retried")
    log.terminated(5, t, 2, None, Usage())
    log.submit(6, t, "retried")
    log.terminated(6, t, None, 9, Usage())
    log.submit(7, t, "retried")
    log.submit(8, t, "removed")
    log.aborted(8, t, "via condor_rm")
    log.close()
    has_post = {"post_ok": True, "post_pending": True}
    nodes = replay(path, offset, has_post)
    assert "before" not in nodes
    assert nodes["plain_ok"].state == "done"
    assert nodes["post_ok"].state == "done", "the POST's 0 overrides the job's 1"
    assert nodes["post_pending"].state == "post", "job done, POST never reported: run again"
    assert (nodes["retried"].state, nodes["retried"].failures, nodes["retried"].attempts) == (
        "queued",
        2,
        3,
    )
    assert (nodes["removed"].state, nodes["removed"].failures) == ("failed", 1)
