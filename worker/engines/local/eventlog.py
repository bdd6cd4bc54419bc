"""Writer of HTCondor job event logs (the `<dag>.nodes.log` format) that `JobEventLog` reads.

Timestamps are written as `YYYY-MM-DD HH:MM:SS.mmmZ` (HTCondor's ISO_DATE + SUB_SECOND + UTC
options): with the `Z` the epoch a reader gets does not depend on its time zone, and the
milliseconds survive into `EventTime` for statistics. Every terminate event carries the four
rusage lines, without which `htcondor2.JobEventLog` refuses the whole log.

Writes are buffered; the scheduler calls `flush()` once per loop turn so that a burst of events
costs one system call, and a reader never sees half an event for longer than one turn.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SUBMIT_HOST = "<127.0.0.1:0?alias=localhost>"


_last_second = -1
_last_text = ""


def format_timestamp(epoch: float) -> str:
    """UTC ISO form with milliseconds and `Z`, exactly as HTCondor writes with SUB_SECOND,UTC."""
    global _last_second, _last_text
    whole = int(epoch)
    millis = int(round((epoch - whole) * 1000))
    if millis == 1000:
        whole, millis = whole + 1, 0
    if whole != _last_second:  # many events share a second: format the date part once
        _last_second = whole
        _last_text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole))
    return f"{_last_text}.{millis:03d}Z"


def format_duration(seconds: float) -> str:
    """The `d hh:mm:ss` form of rusage lines."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} {hours:02d}:{minutes:02d}:{secs:02d}"


@dataclass(frozen=True)
class Usage:
    """CPU times of one run (remote = the job's own processes, local = the engine's share)."""

    user: float = 0.0
    system: float = 0.0


@dataclass(frozen=True)
class Resources:
    """The 'Partitionable Resources' table: requested/allocated and measured usage."""

    cpus: int = 1
    memory_mb: int = 0
    disk_kb: int = 0
    gpus: int = 0
    memory_usage_mb: int = 0
    disk_usage_kb: int = 0


class EventLogWriter:
    """Appends events to one or more job event logs (the DAG's nodes.log plus any `log =`)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._file: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        self._file.close()

    def flush(self) -> None:
        self._file.flush()

    def write_raw(self, text: str) -> None:
        self._file.write(text)

    # Each method renders one event; `_event` adds header and sync line.
    @staticmethod
    def _event(code: int, cluster: int, when: float, first: str, body: Iterable[str]) -> str:
        lines = [f"{code:03d} ({cluster:03d}.000.000) {format_timestamp(when)} {first}"]
        lines.extend(body)
        lines.append("...")
        return "\n".join(lines) + "\n"

    def submit(self, cluster: int, when: float, node: str | None, notes: str | None = None) -> None:
        body = []
        if node is not None:
            body.append(f"    DAG Node: {node}")
        if notes:
            body.append(f"    {notes}")
        self._file.write(
            self._event(0, cluster, when, f"Job submitted from host: {SUBMIT_HOST}", body)
        )

    def execute(self, cluster: int, when: float, slot: str, props: dict[str, object]) -> None:
        body = [f"\tSlotName: {slot}"]
        body.extend(f"\t{key} = {_classad_value(value)}" for key, value in props.items())
        self._file.write(
            self._event(1, cluster, when, f"Job executing on host: {SUBMIT_HOST}", body)
        )

    def terminated(
        self,
        cluster: int,
        when: float,
        return_value: int | None,
        signal: int | None,
        usage: Usage,
        resources: Resources | None = None,
        bytes_sent: int = 0,
        bytes_received: int = 0,
    ) -> None:
        body = []
        if signal is not None:
            body.append(f"\t(0) Abnormal termination (signal {signal})")
            body.append("\t(0) No core file")
        else:
            body.append(f"\t(1) Normal termination (return value {return_value})")
        remote = f"Usr {format_duration(usage.user)}, Sys {format_duration(usage.system)}"
        local = f"Usr {format_duration(0)}, Sys {format_duration(0)}"
        body += [
            f"\t\t{remote}  -  Run Remote Usage",
            f"\t\t{local}  -  Run Local Usage",
            f"\t\t{remote}  -  Total Remote Usage",
            f"\t\t{local}  -  Total Local Usage",
            f"\t{bytes_sent}  -  Run Bytes Sent By Job",
            f"\t{bytes_received}  -  Run Bytes Received By Job",
            f"\t{bytes_sent}  -  Total Bytes Sent By Job",
            f"\t{bytes_received}  -  Total Bytes Received By Job",
        ]
        if resources is not None:
            r = resources
            body += [
                "\tPartitionable Resources :    Usage  Request Allocated",
                f"\t   Cpus                 :           {r.cpus:>8} {r.cpus:>9}",
                f"\t   Disk (KB)            : {r.disk_usage_kb:>8} {r.disk_kb:>8} {r.disk_kb:>9}",
                f"\t   Gpus                 :           {r.gpus:>8} {r.gpus:>9}",
                f"\t   Memory (MB)          : {r.memory_usage_mb:>8} {r.memory_mb:>8}"
                f" {r.memory_mb:>9}",
            ]
        self._file.write(self._event(5, cluster, when, "Job terminated.", body))

    def aborted(self, cluster: int, when: float, reason: str) -> None:
        self._file.write(self._event(9, cluster, when, "Job was aborted.", [f"\t{reason}"]))

    def held(self, cluster: int, when: float, reason: str, code: int, subcode: int) -> None:
        body = [f"\t{reason}", f"\tCode {code} Subcode {subcode}"]
        self._file.write(self._event(12, cluster, when, "Job was held.", body))

    def post_script_terminated(
        self, cluster: int, when: float, node: str, return_value: int | None, signal: int | None
    ) -> None:
        if signal is not None:
            status = f"\t(0) Abnormal termination (signal {signal})"
        else:
            status = f"\t(1) Normal termination (return value {return_value})"
        body = [status, f"    DAG Node: {node}"]
        self._file.write(self._event(16, cluster, when, "POST Script terminated.", body))

    def image_size(self, cluster: int, when: float, rss_kb: int) -> None:
        body = [
            f"\t{(rss_kb + 1023) // 1024}  -  MemoryUsage of job (MB)",
            f"\t{rss_kb}  -  ResidentSetSize of job (KB)",
        ]
        self._file.write(
            self._event(6, cluster, when, f"Image size of job updated: {rss_kb}", body)
        )


def _classad_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
