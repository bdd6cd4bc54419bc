"""Kickstart records in job .out files (Pegasus 5 YAML), as pegasus-monitord reads them.

This is the importer's reader; the job wrapper has its own (`worker.lite.kickstart`) because it
may use only the standard library, while this one hands records to libyaml, which is most of
an import's speed. Both take a record's fields from `worker.lite.kickstart.record_fields`.

A job .out holds a YAML list of `- invocation: True` records (one per task of a clustered
job), optionally `[cluster-task …]` / `[cluster-summary …]` lines from pegasus-cluster, and
`---------------pegasus-multipart` YAML blocks (integrity summaries, locations). Anything else
(banners, scheduler epilogues) is skipped the same way monitord skips it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from worker.lite.kickstart import MULTIPART as MULTIPART_MARKER
from worker.lite.kickstart import record_fields

MONITORING_START = "@@@MONITORING_PAYLOAD - START@@@"
MONITORING_END = "@@@MONITORING_PAYLOAD - END@@@"
# libyaml's parser when PyYAML was built with it: kickstart records are most of an import's time
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PROPS_QUOTED = re.compile(r'(\S+)="([^"]*)"')
_PROPS = re.compile(r"(\S+)=([^\s,\"\]]+)")


@dataclass
class Invocation:
    """The fields of one kickstart record that provenance keeps (SPEC §3.3 table)."""

    transformation: str | None
    derivation: str | None  # the YAML job id (abs_task_id), None for "null"
    resource: str | None
    hostname: str | None
    hostaddr: str | None
    user: str | None
    cwd: str | None
    start: float | None  # mainjob.start, epoch seconds (time zone of the record honoured)
    duration: float | None  # mainjob.duration
    utime: float | None
    stime: float | None
    maxrss: int | None
    raw: int | None  # mainjob.status.raw (wait status, not shifted)
    regular_exitcode: int | None
    signal: int | None
    executable: str | None
    argv: list[str]
    uname: str | None
    ram_total: int | None
    stdout: str | None
    stderr: str | None
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def remote_cpu_time(self) -> float | None:
        if self.utime is None or self.stime is None:
            return None
        return self.utime + self.stime


@dataclass
class KickstartOutput:
    invocations: list[Invocation] = field(default_factory=list)
    multipart: list[dict[str, Any]] = field(default_factory=list)
    cluster_summary: dict[str, str] | None = None
    cluster_tasks: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def epoch(value: Any) -> float | None:
    """An ISO time (string or the datetime PyYAML made of it) → epoch seconds.

    Kickstart writes local time with an explicit offset (`2023-03-03T22:24:20.615-08:00`);
    a value without offset is taken as UTC rather than as this machine's zone.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _num(value)
    return None if number is None else int(number)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def invocation_from_record(record: dict[str, Any]) -> Invocation:
    """One record's fields (located by the job wrapper's `record_fields`) as provenance types."""
    f = record_fields(record)
    derivation = _text(f.derivation)
    machine = f.machine
    uname = None
    if all(machine.get(k) for k in ("uname_system", "uname_release", "uname_machine")):
        uname = "-".join(
            str(machine[k]) for k in ("uname_system", "uname_release", "uname_machine")
        )

    def data_of(name: str) -> str | None:
        entry = f.files.get(name)
        if entry is not None and entry.get("data") is not None:
            return str(entry["data"])
        return None

    return Invocation(
        transformation=_text(f.transformation),
        derivation=None if derivation in (None, "null") else derivation,
        resource=_text(f.resource),
        hostname=_text(f.hostname),
        hostaddr=_text(f.hostaddr),
        user=_text(f.user),
        cwd=_text(f.cwd),
        start=epoch(f.start),
        duration=_num(f.duration),
        utime=_num(f.utime),
        stime=_num(f.stime),
        maxrss=_int(f.maxrss),
        raw=_int(f.raw),
        regular_exitcode=_int(f.regular_exitcode),
        signal=_int(f.signalled_signal),
        executable=_text(f.executable),
        argv=f.args,
        uname=uname,
        ram_total=_int(machine.get("ram_total")),
        stdout=data_of("stdout"),
        stderr=data_of("stderr"),
        files=f.files,
    )


def _bracket_props(line: str, token: str) -> dict[str, str]:
    start = line.find(token)
    body = line[start:]
    end = body.find("]")
    body = body[: end + 1] if end >= 0 else body
    props = dict(_PROPS_QUOTED.findall(body))
    for key, value in _PROPS.findall(body):
        props.setdefault(key, value)
    return props


def parse_kickstart(text: str) -> KickstartOutput:
    """Split a job .out into records and parse each; bad YAML is reported, not raised."""
    out = KickstartOutput()
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        line = lines[index]
        if "- invocation:" in line or line.startswith(MULTIPART_MARKER):
            multipart = line.startswith(MULTIPART_MARKER)
            buffer = [] if multipart else [line[line.find("- invocation:") :]]
            index += 1
            while index < len(lines):
                nxt = lines[index]
                if (
                    nxt.startswith(("[cluster-", "[seqexec-", MULTIPART_MARKER))
                    or "- invocation:" in nxt
                ):
                    break
                if nxt[:1] in (" ", "-", "l", "\n", "\t") or multipart:
                    buffer.append(nxt)
                index += 1
            try:
                loaded = yaml.load("".join(buffer), Loader=_LOADER)
            except yaml.YAMLError as exc:
                out.errors.append(f"unparsable YAML record: {exc}")
                continue
            if multipart:
                entries = [loaded] if isinstance(loaded, dict) else (loaded or [])
                out.multipart.extend(e for e in entries if isinstance(e, dict))
            elif isinstance(loaded, list):
                for item in loaded:
                    if isinstance(item, dict) and item.get("invocation"):
                        out.invocations.append(invocation_from_record(item))
            continue
        if "[cluster-summary" in line or "[seqexec-summary" in line:
            token = "[cluster-summary" if "[cluster-summary" in line else "[seqexec-summary"
            out.cluster_summary = _bracket_props(line, token)
        elif "[cluster-task" in line or "[seqexec-task" in line:
            token = "[cluster-task" if "[cluster-task" in line else "[seqexec-task"
            out.cluster_tasks.append(_bracket_props(line, token))
        index += 1
    return out


def read_kickstart(path: Path) -> KickstartOutput | None:
    """None when the file does not exist (job never ran, or outputs were cleaned away)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    return parse_kickstart(text)


@dataclass(frozen=True)
class SplitOutput:
    """Task output with monitoring payloads cut out (monitord's `split_task_output`)."""

    user_data: str
    events: list[dict[str, Any]]


def split_monitoring(text: str) -> SplitOutput:
    import json

    events: list[dict[str, Any]] = []
    parts: list[str] = []
    position = 0
    while True:
        start = text.find(MONITORING_START, position)
        if start == -1:
            parts.append(text[position:])
            break
        end = text.find(MONITORING_END, start)
        if end == -1:
            parts.append(text[position:])
            break
        parts.append(text[position:start])
        payload = text[start + len(MONITORING_START) : end]
        try:
            event = json.loads(payload)
        except ValueError:
            event = None
        if isinstance(event, dict):
            events.append(event)
        position = end + len(MONITORING_END)
    return SplitOutput("".join(parts), events)
