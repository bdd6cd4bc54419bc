"""Rebuild jobstate.log from dagman.out, when only DAGMan's own log survived.

pegasus-monitord writes jobstate.log *from* dagman.out, so the same rules (its line patterns,
`Pegasus/cli/pegasus-monitord.py`) give the same journal back: every `Event: ULOG_<X>` line,
DAGMan's job-success/failure lines, PRE/POST script start and end lines and hold reasons. A
line's time is the last timestamp on it (the HTCondor event time in braces when present),
read in the submit host's zone, as monitord reads it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from worker.pegasus_import.dagman_out import local_epoch
from worker.pegasus_import.jobstate import InternalEvent, Jobstate, JobstateLine

_STAMP = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})")
_EVENT = re.compile(
    r"Event:\s+ULOG_(\S+) for (?:HT|)Condor (?:Job|Node) (\S+)\s+\((-?[0-9]+\.[0-9]+)(\.[0-9]+)?\)"
)
_SCRIPT_RUNNING = re.compile(
    r"\d{2}\s(?:\(D_\w*\)\s)?Running (PRE|POST) script of (?:Job|Node) (.+)\.{3}"
)
_SCRIPT_DONE = re.compile(r"\d{2}\s(?:\(D_\w*\)\s)?(PRE|POST) Script of (?:Job|[nN]ode) (\S+)")
_SCRIPT_OK = re.compile(r"completed successfully\.$")
_SCRIPT_FAILED = re.compile(r"failed with status\s+(-?\d+)\.?$")
_SUBMITTING = re.compile(r"Submitting (?:HT|)Condor Node (.+) job")
_SUBMIT_ERROR = re.compile(r"ERROR: submit attempt failed")
_JOB_FAILED = re.compile(
    r"\d{2}\s(?:\(D_\w*\)\s)?Node (\S+) job proc \(([0-9.]+)\) "
    r"failed with (status|signal)\s+(-?\d+)\.$"
)
_JOB_OK = re.compile(
    r"\d{2}\s(?:\(D_\w*\)\s)?Node (\S+) job proc \(([0-9.]+)\) completed successfully\.$"
)
_DAGMAN_START = re.compile(r"\*\* condor_scheduniv_exec\.([0-9.]+) \(CONDOR_DAGMAN\) STARTING UP")
_DAGMAN_END = re.compile(r"\(condor_DAGMAN\)[\w\s]+EXITING WITH STATUS (\d+)$")
_HOLD_REASON = re.compile(r"\s*Hold reason:(.*)")
# states after which the next submission of the node is a new attempt (job instance)
_OPEN = {"PRE_SCRIPT_SUCCESS", "DAGMAN_SUBMIT"}


def _time(line: str, offset: timedelta | None) -> int | None:
    found = list(_STAMP.finditer(line))
    if not found:
        return None
    last = found[-1]
    month, day, year, hour, minute, second = (int(g) for g in last.groups())
    stamp = f"{month:02d}/{day:02d}/{year:02d} {hour:02d}:{minute:02d}:{second:02d}"
    return local_epoch(stamp, offset)


def _condor_id(sched: str) -> str:
    """`104.0.0` (DAGMan's cluster.proc.subproc) → `104.0`, the form jobstate.log keeps."""
    parts = sched.split(".")
    return ".".join(parts[:2])


def replay_dagman_out(
    path: Path, offset: timedelta | None, sites: dict[str, str | None]
) -> Jobstate:
    """A jobstate.log equivalent of `path`; `sites` maps node names to their `+pegasus_site`."""
    lines: list[JobstateLine] = []
    internal: list[InternalEvent] = []
    current: dict[str, int] = {}
    last_state: dict[str, str] = {}
    sched_of: dict[str, str] = {}
    counter = 0
    last_submitted: str | None = None
    last_job: str | None = None
    recovering = False

    def instance(job: str, state: str, sched: str | None = None) -> int:
        nonlocal counter
        seq = current.get(job)
        starts = state in ("PRE_SCRIPT_STARTED", "DAGMAN_SUBMIT", "SUBMIT")
        reuse = seq is not None and (
            last_state.get(job) in _OPEN or (sched is not None and sched_of.get(job) == sched)
        )
        if seq is None or (starts and not reuse):
            counter += 1
            seq = counter
            current[job] = seq
        return seq

    def add(number: int, when: int, job: str, state: str, info: str | None,
            sched: str | None = None) -> None:  # fmt: skip
        nonlocal last_job
        seq = instance(job, state, sched)
        if sched is not None:
            sched_of[job] = sched
        last_state[job] = state
        last_job = job
        if state != "DAGMAN_SUBMIT":
            lines.append(JobstateLine(number, when, job, state, info, sites.get(job), seq))

    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\n")
            when = _time(line, offset)
            if when is None:
                continue
            if recovering:
                recovering = "...done with RECOVERY mode" not in line
                continue
            if (match := _EVENT.search(line)) is not None:
                event, job, sched = match.group(1), match.group(2), match.group(3)
                add(number, when, job, event, sched, sched)
            elif (match := _SUBMITTING.search(line)) is not None:
                last_submitted = match.group(1)
                add(number, when, last_submitted, "DAGMAN_SUBMIT", None)
            elif _SUBMIT_ERROR.search(line) and last_submitted is not None:
                add(number, when, last_submitted, "SUBMIT_FAILED", None)
            elif (match := _SCRIPT_RUNNING.search(line)) is not None:
                kind, job = match.group(1).upper(), match.group(2)
                add(number, when, job, f"{kind}_SCRIPT_STARTED", sched_of.get(job))
            elif (match := _SCRIPT_DONE.search(line)) is not None:
                kind, job = match.group(1).upper(), match.group(2)
                if kind == "PRE":
                    add(number, when, job, "PRE_SCRIPT_TERMINATED", None)
                if _SCRIPT_OK.search(line):
                    add(number, when, job, f"{kind}_SCRIPT_SUCCESS", "0")
                elif (failed := _SCRIPT_FAILED.search(line)) is not None:
                    add(number, when, job, f"{kind}_SCRIPT_FAILURE", failed.group(1))
            elif (match := _JOB_FAILED.search(line)) is not None:
                job, sched = match.group(1), _condor_id(match.group(2))
                add(number, when, job, "JOB_FAILURE", match.group(4), sched)
            elif (match := _JOB_OK.search(line)) is not None:
                job, sched = match.group(1), _condor_id(match.group(2))
                add(number, when, job, "JOB_SUCCESS", "0", sched)
            elif (match := _DAGMAN_END.search(line)) is not None:
                internal.append(InternalEvent(number, when, "DAGMAN_FINISHED", match.group(1)))
            elif (match := _DAGMAN_START.search(line)) is not None:
                internal.append(InternalEvent(number, when, "DAGMAN_STARTED", match.group(1)))
            elif "Running in RECOVERY mode..." in line:
                recovering = True
            elif _HOLD_REASON.search(line) is not None and last_job is not None:
                add(number, when, last_job, "JOB_HELD_REASON", sched_of.get(last_job),
                    sched_of.get(last_job))  # fmt: skip
    return Jobstate(path, lines, internal)
