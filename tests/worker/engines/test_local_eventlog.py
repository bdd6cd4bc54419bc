"""Every event the engine writes is read back by htcondor2.JobEventLog, with the values the
monitor and statistics depend on (types, return values, signals, node names, sub-second UTC
times regardless of the reader's time zone)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import htcondor2

from worker.engines.local.eventlog import EventLogWriter, Resources, Usage, format_timestamp

T0 = 1795593301.123


def _write_all(path: Path) -> None:
    log = EventLogWriter(path)
    log.submit(7, T0, "node_A", "pool:local")
    log.execute(7, T0 + 0.5, "slot1_1@host", {"Cpus": 2, "CondorScratchDir": "/tmp/x y"})
    log.image_size(7, T0 + 1, 2048)
    log.terminated(7, T0 + 2.25, 3, None, Usage(1.5, 0.25), Resources(2, 512, 0, 0, 37), 10, 20)
    log.post_script_terminated(7, T0 + 2.5, "node_A", 0, None)
    log.submit(8, T0 + 3, "node_B")
    log.terminated(8, T0 + 4, None, 9, Usage())
    log.held(9, T0 + 5, "Transfer output files failure: missing out.txt", 12, 2)
    log.aborted(9, T0 + 5.001, "via condor_rm (by user alice)")
    log.post_script_terminated(8, T0 + 6, "node_B", None, 11)
    log.close()


def test_every_event_round_trips_through_jobeventlog(tmp_path: Path) -> None:
    path = tmp_path / "nodes.log"
    _write_all(path)
    events = list(htcondor2.JobEventLog(str(path)).events(0))
    types = [ev.type for ev in events]
    E = htcondor2.JobEventType
    assert types == [
        E.SUBMIT,
        E.EXECUTE,
        E.IMAGE_SIZE,
        E.JOB_TERMINATED,
        E.POST_SCRIPT_TERMINATED,
        E.SUBMIT,
        E.JOB_TERMINATED,
        E.JOB_HELD,
        E.JOB_ABORTED,
        E.POST_SCRIPT_TERMINATED,
    ]
    submit, execute, image, term, post, _, killed, held, aborted, post_sig = events
    assert submit.cluster == 7 and submit["StructuredNotes"]["DAGNodeName"] == "node_A"
    assert execute["SlotName"] == "slot1_1@host"
    assert (image["Size"], image["ResidentSetSize"], image["MemoryUsage"]) == (2048, 2048, 2)
    assert term["TerminatedNormally"] is True and term["ReturnValue"] == 3
    assert term["RunRemoteUsage"] == "Usr 0 00:00:01, Sys 0 00:00:00"
    assert (term["RequestCpus"], term["RequestMemory"], term["MemoryUsage"]) == (2, 512, 37)
    assert (term["SentBytes"], term["ReceivedBytes"]) == (10.0, 20.0)
    assert post["DAGNodeName"] == "node_A" and post["ReturnValue"] == 0
    assert killed["TerminatedNormally"] is False and killed["TerminatedBySignal"] == 9
    assert held["HoldReason"].endswith("missing out.txt") and held["HoldReasonCode"] == 12
    assert aborted["Reason"] == "via condor_rm (by user alice)"
    assert post_sig["TerminatedBySignal"] == 11
    assert term.timestamp == int(T0 + 2.25)
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(int(T0 + 2.25)))
    assert term["EventTime"] == local + ".373", "milliseconds survive into EventTime"


def test_times_are_utc_with_milliseconds_whatever_the_reader_zone(tmp_path: Path) -> None:
    path = tmp_path / "nodes.log"
    _write_all(path)
    code = (
        "import htcondor2, json, sys\n"
        "evs = list(htcondor2.JobEventLog(sys.argv[1]).events(0))\n"
        "print(json.dumps([e.timestamp for e in evs]))\n"
    )
    stamps = {}
    for zone in ("UTC", "America/Chicago", "Asia/Kolkata"):
        env = dict(os.environ, TZ=zone)
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        stamps[zone] = json.loads(out.stdout)
    assert stamps["UTC"] == stamps["America/Chicago"] == stamps["Asia/Kolkata"]
    assert stamps["UTC"][0] == int(T0)
    assert format_timestamp(T0) == "2026-11-25 07:55:01.123Z"
    assert format_timestamp(T0 + 0.9999) == "2026-11-25 07:55:02.123Z"
    assert format_timestamp(1795593301.9996) == "2026-11-25 07:55:02.000Z"
