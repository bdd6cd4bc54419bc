"""The invocation record: what ``aerie-lite run`` prints on stdout (the job's ``.out``).

It plays the part of pegasus-kickstart's record: the monitor turns it into ``invocation`` and
``job_instance`` provenance rows, and ``aerie-lite exitcode`` judges the job from it.  One JSON
object per line, so a reader can split on newlines without a streaming parser, and so that a
record cut short by a killed wrapper spoils only its own line.

One ``aerie.invocation`` line per task (a normal job has one task), for example::

    {"type": "aerie.invocation", "version": 1, "job_id": "ID0000002",
     "job_name": "findrange_ID0000002", "task_index": 1, "transformation": "diamond::findrange:4.0",
     "site": "condorpool", "wf_label": "diamond", "wf_uuid": "8f0c...",
     "hostname": "node17", "hostaddr": "10.0.0.17", "user": "alice", "uid": 1000,
     "cwd": "/var/lib/condor/execute/dir_1234", "executable": "/usr/bin/pegasus-keg",
     "argv": ["/usr/bin/pegasus-keg", "-a", "findrange"],
     "start": "2026-11-25T08:00:01.250000Z", "duration": 0.513,
     "exitcode": 0, "signal": null, "raw_status": 0, "walltime_exceeded": false,
     "utime": 0.41, "stime": 0.03, "maxrss_kb": 10240, "maxrss_floor_kb": 9800,
     "stdout_tail": "...", "stderr_tail": "",
     "inputs": [{"lfn": "f.b1", "size": 1024, "sha256": "a7f5..."}],
     "outputs": [{"lfn": "f.c1", "size": 2048, "sha256": "c3d1..."}],
     "integrity": {"succeeded": 1, "failed": 0, "duration": 0.002},
     "stage_in": {"files": 1, "bytes": 1024, "duration": 0.01},
     "stage_out": {"files": 1, "bytes": 2048, "duration": 0.01},
     "failed_step": null, "error": null}

Field meanings (stable; add fields, never rename):

- ``start``: ISO-8601 UTC with a ``Z`` suffix, when the executable was started (or, when a step
  before it failed, when that step started).  ``duration``: seconds (float) of the executable only.
- ``exitcode``: the executable's exit code, or null if it was killed by a signal or never ran.
  ``signal``: the signal number that ended it, or null.  ``raw_status``: the wait status as
  kickstart's ``status.raw`` (``exitcode << 8`` or the signal number); null if it never ran.
- ``walltime_exceeded``: true when the wrapper killed it at the ``walltime`` limit.
- ``utime``/``stime``: CPU seconds of the executable and its children; ``maxrss_kb``: their
  peak resident set size in KiB (``wait4`` rusage).  Linux charges a process that ``exec``s with
  the peak RSS of the memory image it had before (the wrapper's, when the wrapper spawns it), so
  ``maxrss_kb`` is never below ``maxrss_floor_kb``, the wrapper's own peak RSS at spawn time:
  about 20 MB for the zipapp, more when an engine runs the wrapper in a fork of itself.  A value
  at the floor means "at most this much".
- ``stdout_tail``/``stderr_tail``: the last 64 KiB (``TAIL_BYTES``) of the executable's streams
  (of the redirected LFN when ``stdout``/``stderr`` were declared), decoded as UTF-8 with
  replacement.
- ``inputs``/``outputs``: ``{lfn, size, sha256}``; sha256 null when not computed, size null
  when the file is missing.
- ``integrity``: input checksum verification ``{succeeded, failed, duration}``
  (PegasusLite's ``integrity_summary``).
- ``failed_step``: null on success, else the first step that failed: ``stage-in``,
  ``integrity``, ``exec`` (could not start, non-zero exit, signal, wall time) or ``stage-out``
  (missing output or failed copy).  ``error``: a human sentence naming the step and the file.

Clustered jobs end with one summary line, after the task records::

    {"type": "aerie.cluster-summary", "version": 1, "job_id": "merge_ID1", "job_name": "...",
     "stat": "ok", "tasks": 3, "submitted": 3, "succeeded": 3, "failed": 0,
     "start": "2026-11-25T08:00:01.250000Z", "duration": 1.52}

``stat`` is ``ok`` when every submitted task succeeded and ``fail`` otherwise; ``submitted`` counts
tasks that were started (with ``fail_fast`` the ones after a failure are not).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

INVOCATION = "aerie.invocation"
CLUSTER_SUMMARY = "aerie.cluster-summary"
VERSION = 1
TAIL_BYTES = 64 * 1024
STEPS = ("stage-in", "integrity", "exec", "stage-out")


def iso_utc(epoch: float) -> str:
    """ISO-8601 UTC with microseconds and a ``Z``, the one timestamp form in our records."""
    # timezone.utc, not datetime.UTC: worker nodes may run Python < 3.11.
    utc = timezone.utc  # noqa: UP017
    return datetime.fromtimestamp(epoch, utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_record(**fields: Any) -> dict[str, Any]:
    """A record with every documented field present (null when unknown), then ``fields``."""
    rec: dict[str, Any] = {
        "type": INVOCATION,
        "version": VERSION,
        "job_id": None,
        "job_name": None,
        "task_index": 1,
        "transformation": None,
        "site": None,
        "wf_label": None,
        "wf_uuid": None,
        "hostname": None,
        "hostaddr": None,
        "user": None,
        "uid": None,
        "cwd": None,
        "executable": None,
        "argv": [],
        "start": None,
        "duration": 0.0,
        "exitcode": None,
        "signal": None,
        "raw_status": None,
        "walltime_exceeded": False,
        "utime": 0.0,
        "stime": 0.0,
        "maxrss_kb": 0,
        "maxrss_floor_kb": 0,
        "stdout_tail": "",
        "stderr_tail": "",
        "inputs": [],
        "outputs": [],
        "integrity": {"succeeded": 0, "failed": 0, "duration": 0.0},
        "stage_in": {"files": 0, "bytes": 0, "duration": 0.0},
        "stage_out": {"files": 0, "bytes": 0, "duration": 0.0},
        "failed_step": None,
        "error": None,
    }
    rec.update(fields)
    return rec


def succeeded(rec: dict[str, Any]) -> bool:
    """The verdict for one record: it ran, exited 0, and no wrapper step failed."""
    return rec.get("failed_step") is None and rec.get("exitcode") == 0 and not rec.get("signal")


def dumps(rec: dict[str, Any]) -> str:
    """One line of JSON; non-ASCII kept readable, no NaN (the monitor's parser is strict)."""
    return json.dumps(rec, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def parse_lines(text: str) -> list[dict[str, Any]]:
    """Our records in a ``.out`` text (other lines, e.g. a job's own prints, are skipped)."""
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith('{"type": "aerie.') and not line.startswith('{"type":"aerie.'):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("type") in (INVOCATION, CLUSTER_SUMMARY):
            out.append(obj)
    return out


def host_facts(cwd: str) -> dict[str, Any]:
    """hostname, hostaddr, user, uid and cwd for a record (kickstart's top-level fields)."""
    import socket

    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        user = os.environ.get("USER") or str(os.getuid())
    hostname = socket.gethostname()
    try:
        hostaddr: str | None = socket.gethostbyname(hostname)
    except OSError:
        hostaddr = None
    return {
        "hostname": hostname,
        "hostaddr": hostaddr,
        "user": user,
        "uid": os.getuid(),
        "cwd": cwd,
    }
